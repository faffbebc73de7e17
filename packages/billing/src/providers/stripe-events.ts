import type { ProviderEvent } from './provider.ts';
import { WebhookRefused } from './provider.ts';

interface EventShape {
  id?: unknown;
  type?: unknown;
  created?: unknown;
  data?: { object?: { id?: unknown; object?: unknown; metadata?: Record<string, unknown> | null } };
}

/**
 * A verified event in Stripe's shape (the local provider writes the same
 * shape) reduced to what billing needs. Only the ids are taken from it: what
 * happened to the payment is asked of the provider when the event is handled,
 * so an event that arrives late says nothing stale.
 */
export function toProviderEvent(parsed: unknown): ProviderEvent {
  const event = parsed as EventShape;
  if (typeof event?.id !== 'string' || typeof event.type !== 'string' || typeof event.created !== 'number')
    throw new WebhookRefused('malformed_payload', 'the event has no id, type or created time');
  const object = event.data?.object;
  const isPayment = object?.object === 'payment_intent' && typeof object.id === 'string';
  const metadata = object?.metadata ?? {};
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  return {
    id: event.id,
    type: event.type,
    createdAt: event.created * 1000,
    paymentId: isPayment ? (object.id as string) : undefined,
    invoiceId: isPayment ? text(metadata.invoiceId) : undefined,
    tenantId: isPayment ? text(metadata.tenantId) : undefined,
  };
}

/** The payment intent statuses, as billing reads them. */
export function paymentStatusOf(status: string): 'succeeded' | 'failed' | 'pending' {
  if (status === 'succeeded') return 'succeeded';
  // Off-session there is nobody to complete 3-D Secure or pick another card: that is a failure.
  if (status === 'requires_payment_method' || status === 'canceled' || status === 'requires_action')
    return 'failed';
  return 'pending';
}
