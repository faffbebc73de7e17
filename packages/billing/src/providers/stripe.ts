import Stripe from 'stripe';
import {
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  type PaymentStatus,
  type ProviderEvent,
  ProviderUnavailable,
} from './provider.ts';
import { paymentStatusOf, toProviderEvent } from './stripe-events.ts';
import { verifyStripeSignature } from './webhook-signature.ts';

export interface StripeProviderOptions {
  readonly secretKey: string;
  /** Every secret currently valid (more than one while rotating). */
  readonly webhookSecrets: readonly string[];
  /** Another API host: the tests' fake Stripe. Default api.stripe.com over https. */
  readonly api?:
    | { readonly host: string; readonly port: number; readonly protocol: 'http' | 'https' }
    | undefined;
  readonly timeoutMs?: number;
  readonly toleranceSeconds?: number;
}

function isStripeError(err: unknown): err is {
  type: string;
  code?: string;
  decline_code?: string;
  payment_intent?: { id: string; status: string };
} {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string';
}

/**
 * Payments through Stripe with the official SDK: a customer per tenant, an
 * off-session payment intent per invoice charged to the customer's default
 * payment method (set up through Stripe Checkout in setup mode), webhooks
 * verified with the SDK's verifier.
 */
export function stripeProvider(options: StripeProviderOptions): PaymentProvider & {
  setupSession(customerId: string, returnUrl: string): Promise<string>;
} {
  const stripe = new Stripe(options.secretKey, {
    maxNetworkRetries: 2,
    timeout: options.timeoutMs ?? 10_000,
    telemetry: false,
    ...(options.api === undefined ? {} : options.api),
  });

  /** Errors about the card are outcomes; anything else means Stripe could not be asked. */
  function unavailable(err: unknown): never {
    throw new ProviderUnavailable(err instanceof Error ? err.message : 'stripe request failed', {
      cause: err,
    });
  }

  return {
    name: 'stripe',

    async createCustomer(tenantId) {
      try {
        const customer = await stripe.customers.create(
          { metadata: { tenantId } },
          { idempotencyKey: `gatehouse-customer-${tenantId}` },
        );
        return customer.id;
      } catch (err) {
        return unavailable(err);
      }
    },

    async charge(request: ChargeRequest): Promise<ChargeResult> {
      let paymentMethod: string | undefined;
      try {
        const customer = await stripe.customers.retrieve(request.customerId);
        if (!('deleted' in customer && customer.deleted === true)) {
          const method = customer.invoice_settings?.default_payment_method;
          paymentMethod = typeof method === 'string' ? method : method?.id;
        }
      } catch (err) {
        return unavailable(err);
      }
      if (paymentMethod === undefined)
        return { paymentId: '', status: 'failed', failureCode: 'no_payment_method' };
      try {
        const intent = await stripe.paymentIntents.create(
          {
            amount: request.amount,
            currency: request.currency.toLowerCase(),
            customer: request.customerId,
            payment_method: paymentMethod,
            description: request.description,
            confirm: true,
            off_session: true,
            metadata: { tenantId: request.tenantId, invoiceId: request.invoiceId },
          },
          { idempotencyKey: request.idempotencyKey },
        );
        return { paymentId: intent.id, status: paymentStatusOf(intent.status) };
      } catch (err) {
        if (isStripeError(err) && err.type === 'StripeCardError') {
          return {
            paymentId: err.payment_intent?.id ?? '',
            status: 'failed',
            failureCode: err.decline_code ?? err.code ?? 'card_error',
          };
        }
        return unavailable(err);
      }
    },

    async paymentStatus(paymentId): Promise<PaymentStatus> {
      try {
        return paymentStatusOf((await stripe.paymentIntents.retrieve(paymentId)).status);
      } catch (err) {
        return unavailable(err);
      }
    },

    verifyWebhook(rawBody, header, now): ProviderEvent {
      return toProviderEvent(
        verifyStripeSignature(rawBody, header, options.webhookSecrets, now, options.toleranceSeconds),
      );
    },

    async setupSession(customerId, returnUrl) {
      try {
        const session = await stripe.checkout.sessions.create({
          mode: 'setup',
          customer: customerId,
          currency: 'eur',
          success_url: returnUrl,
          cancel_url: returnUrl,
        });
        return session.url ?? '';
      } catch (err) {
        return unavailable(err);
      }
    },
  };
}
