/**
 * One interface for every payment provider. The billing domain owns plans,
 * subscriptions and invoices; a provider keeps customers and moves money, and
 * tells us (in webhooks) what became of a payment. Stripe and the local
 * development provider implement it.
 */

export type PaymentStatus = 'succeeded' | 'failed' | 'pending';

export interface ChargeRequest {
  readonly customerId: string;
  /** Minor units, > 0. */
  readonly amount: number;
  readonly currency: string;
  readonly description: string;
  /** The provider's own idempotency key: a retried charge never charges twice. */
  readonly idempotencyKey: string;
  readonly tenantId: string;
  readonly invoiceId: string;
}

export interface ChargeResult {
  readonly paymentId: string;
  readonly status: PaymentStatus;
  /** Why it failed, as the provider says it (e.g. card_declined). */
  readonly failureCode?: string | undefined;
}

/** A verified webhook event, reduced to what billing acts on. */
export interface ProviderEvent {
  readonly id: string;
  readonly type: string;
  /** When the provider created the event (ms). */
  readonly createdAt: number;
  /** The payment the event is about, when it is about one. */
  readonly paymentId?: string | undefined;
  readonly invoiceId?: string | undefined;
  readonly tenantId?: string | undefined;
}

export type WebhookRefusal =
  | 'missing_signature'
  | 'bad_signature'
  | 'timestamp_outside_tolerance'
  | 'malformed_payload';

/** A webhook that must not be believed; the route answers 400 and writes a security log line. */
export class WebhookRefused extends Error {
  readonly code = 'WEBHOOK_REFUSED';
  readonly reason: WebhookRefusal;
  constructor(reason: WebhookRefusal, message: string) {
    super(message);
    this.name = 'WebhookRefused';
    this.reason = reason;
  }
}

/** The provider did not answer or answered with an error that is not about the payment: retry later. */
export class ProviderUnavailable extends Error {
  readonly code = 'PROVIDER_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderUnavailable';
  }
}

export interface PaymentProvider {
  readonly name: 'local' | 'stripe';
  /** The provider's customer for a tenant; creating it twice for one tenant gives the same customer. */
  createCustomer(tenantId: string): Promise<string>;
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** The payment's status now, asked of the provider (webhooks may arrive late or out of order). */
  paymentStatus(paymentId: string): Promise<PaymentStatus>;
  /** Verifies a webhook over the exact bytes received; throws WebhookRefused. */
  verifyWebhook(rawBody: Buffer, signatureHeader: string | undefined, now: number): ProviderEvent;
}
