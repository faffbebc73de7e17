import Stripe from 'stripe';
import { WebhookRefused } from './provider.ts';

/** Stripe's default and ours: an event older than five minutes is a replay. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Verifies a `Stripe-Signature` header (`t=<unix>,v1=<hmac>,v1=<hmac>…`) over
 * the raw body with the SDK's verifier, trying each configured secret: during
 * a rotation the provider signs with old and new secrets and we accept either.
 * The SDK only refuses timestamps that are too old; one too far in the future
 * is refused here as well, so a captured header cannot be pre-dated.
 * Returns the parsed JSON body.
 */
export function verifyStripeSignature(
  rawBody: Buffer,
  header: string | undefined,
  secrets: readonly string[],
  nowMs: number,
  toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
): unknown {
  if (header === undefined || header === '')
    throw new WebhookRefused('missing_signature', 'no signature header');
  const timestamp = Number(/(?:^|,)t=(\d+)/.exec(header)?.[1]);
  if (!Number.isFinite(timestamp))
    throw new WebhookRefused('bad_signature', 'no timestamp in the signature header');
  if (Math.abs(Math.floor(nowMs / 1000) - timestamp) > toleranceSeconds)
    throw new WebhookRefused(
      'timestamp_outside_tolerance',
      `signed at ${timestamp}, outside ${toleranceSeconds} s`,
    );
  let lastError: unknown;
  for (const secret of secrets) {
    try {
      return Stripe.webhooks.constructEvent(rawBody, header, secret, toleranceSeconds, undefined, nowMs);
    } catch (err) {
      if ((err as { type?: unknown }).type !== 'StripeSignatureVerificationError')
        throw new WebhookRefused('malformed_payload', 'the signed body is not a JSON event');
      lastError = err;
    }
  }
  throw new WebhookRefused(
    'bad_signature',
    lastError instanceof Error ? lastError.message : 'no secret matched',
  );
}

/** Signs a body as the provider does (tests, the local provider's simulated events). */
export function signStripePayload(payload: string, secret: string, timestampSeconds: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: timestampSeconds });
}
