import { randomBytes } from 'node:crypto';
import type {
  ChargeRequest,
  ChargeResult,
  PaymentProvider,
  PaymentStatus,
  ProviderEvent,
} from './provider.ts';
import { toProviderEvent } from './stripe-events.ts';
import { signStripePayload, verifyStripeSignature } from './webhook-signature.ts';

export interface LocalProviderOptions {
  readonly webhookSecrets: readonly string[];
  /** What a charge comes to; every charge succeeds by default (development). */
  readonly outcome?: (request: ChargeRequest) => PaymentStatus;
  readonly toleranceSeconds?: number;
}

export interface LocalProvider extends PaymentProvider {
  /** Changes a payment as the provider would (a pending payment settles, a payment is disputed …). */
  settle(paymentId: string, status: PaymentStatus): void;
  /** A webhook delivery for a payment, signed as Stripe signs it: `{ body, signature }`. */
  webhook(
    type: string,
    paymentId: string,
    nowMs: number,
    eventId?: string,
  ): { body: string; signature: string };
}

function id(prefix: string): string {
  return `${prefix}_local_${randomBytes(12).toString('hex')}`;
}

/**
 * Payments that complete on this machine, with no account anywhere: the
 * development provider behind `npm start`. It keeps its payments in memory,
 * answers idempotent charges like a real provider, and writes webhooks in
 * Stripe's format and signature so the same verifier checks them.
 */
export function localProvider(options: LocalProviderOptions): LocalProvider {
  const payments = new Map<string, { status: PaymentStatus; request: ChargeRequest }>();
  const byKey = new Map<string, string>();
  const customers = new Map<string, string>();
  const outcome = options.outcome ?? (() => 'succeeded');

  return {
    name: 'local',

    async createCustomer(tenantId) {
      let customer = customers.get(tenantId);
      if (customer === undefined) {
        customer = id('cus');
        customers.set(tenantId, customer);
      }
      return customer;
    },

    async charge(request): Promise<ChargeResult> {
      const known = byKey.get(request.idempotencyKey);
      if (known !== undefined) return { paymentId: known, status: payments.get(known)?.status ?? 'pending' };
      const paymentId = id('pi');
      const status = outcome(request);
      payments.set(paymentId, { status, request });
      byKey.set(request.idempotencyKey, paymentId);
      return { paymentId, status, failureCode: status === 'failed' ? 'card_declined' : undefined };
    },

    async paymentStatus(paymentId) {
      return payments.get(paymentId)?.status ?? 'pending';
    },

    verifyWebhook(rawBody, header, now): ProviderEvent {
      return toProviderEvent(
        verifyStripeSignature(rawBody, header, options.webhookSecrets, now, options.toleranceSeconds),
      );
    },

    settle(paymentId, status) {
      const payment = payments.get(paymentId);
      if (payment === undefined) throw new Error(`local provider: no payment ${paymentId}`);
      payment.status = status;
    },

    webhook(type, paymentId, nowMs, eventId = id('evt')) {
      const payment = payments.get(paymentId);
      const body = JSON.stringify({
        id: eventId,
        object: 'event',
        type,
        created: Math.floor(nowMs / 1000),
        data: {
          object: {
            id: paymentId,
            object: 'payment_intent',
            status:
              payment?.status === 'failed' ? 'requires_payment_method' : (payment?.status ?? 'processing'),
            metadata: {
              tenantId: payment?.request.tenantId ?? '',
              invoiceId: payment?.request.invoiceId ?? '',
            },
          },
        },
      });
      const secret = options.webhookSecrets[0];
      if (secret === undefined) throw new Error('local provider: no webhook secret');
      return { body, signature: signStripePayload(body, secret, Math.floor(nowMs / 1000)) };
    },
  };
}
