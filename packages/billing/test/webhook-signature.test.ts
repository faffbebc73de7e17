import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import { localProvider } from '../src/providers/local.ts';
import { WebhookRefused } from '../src/providers/provider.ts';
import { toProviderEvent } from '../src/providers/stripe-events.ts';
import { signStripePayload, verifyStripeSignature } from '../src/providers/webhook-signature.ts';

const oldSecret = `whsec_${randomSecret()}`;
const newSecret = `whsec_${randomSecret()}`;
const now = Date.parse('2026-06-01T12:00:00Z');
const t = Math.floor(now / 1000);
const body = JSON.stringify({
  id: 'evt_1',
  type: 'payment_intent.succeeded',
  created: t,
  data: { object: { id: 'pi_1', object: 'payment_intent' } },
});

function reason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WebhookRefused, String(err));
    return err.reason;
  }
  return undefined;
}

describe('webhook signatures (attacks)', () => {
  it('accepts the exact signed bytes', () => {
    const parsed = verifyStripeSignature(
      Buffer.from(body),
      signStripePayload(body, newSecret, t),
      [newSecret],
      now,
    );
    assert.equal((parsed as { id: string }).id, 'evt_1');
  });

  it('refuses a forged signature (another secret)', () => {
    const forged = signStripePayload(body, `whsec_${randomSecret()}`, t);
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(body), forged, [newSecret], now)),
      'bad_signature',
    );
  });

  it('refuses a body changed after signing, even by one byte or re-serialised JSON', () => {
    const header = signStripePayload(body, newSecret, t);
    const changed = body.replace('pi_1', 'pi_2');
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(changed), header, [newSecret], now)),
      'bad_signature',
    );
    const reformatted = JSON.stringify(JSON.parse(body), null, 1);
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(reformatted), header, [newSecret], now)),
      'bad_signature',
    );
  });

  it('refuses a timestamp outside 300 s, in the past (a replay) or the future; accepts at the edge', () => {
    const old = signStripePayload(body, newSecret, t - 301);
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(body), old, [newSecret], now)),
      'timestamp_outside_tolerance',
    );
    const future = signStripePayload(body, newSecret, t + 301);
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(body), future, [newSecret], now)),
      'timestamp_outside_tolerance',
    );
    const edge = signStripePayload(body, newSecret, t - 300);
    assert.ok(verifyStripeSignature(Buffer.from(body), edge, [newSecret], now));
  });

  it('refuses a timestamp swapped into a valid signature (the timestamp is signed)', () => {
    const header = signStripePayload(body, newSecret, t - 1_000);
    const swapped = header.replace(/t=\d+/, `t=${t}`);
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(body), swapped, [newSecret], now)),
      'bad_signature',
    );
  });

  it('during rotation accepts either secret, and a header carrying several signatures', () => {
    const byOld = signStripePayload(body, oldSecret, t);
    assert.ok(verifyStripeSignature(Buffer.from(body), byOld, [newSecret, oldSecret], now));
    const byNew = signStripePayload(body, newSecret, t);
    const both = `${byOld},v1=${byNew.split('v1=')[1]}`;
    assert.ok(verifyStripeSignature(Buffer.from(body), both, [newSecret], now));
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(body), byOld, [newSecret], now)),
      'bad_signature',
    );
  });

  it('refuses a missing or empty header, one without a timestamp, and a signed body that is not an event', () => {
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(body), undefined, [newSecret], now)),
      'missing_signature',
    );
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(body), '', [newSecret], now)),
      'missing_signature',
    );
    assert.equal(
      reason(() => verifyStripeSignature(Buffer.from(body), 'v1=abc', [newSecret], now)),
      'bad_signature',
    );
    const notJson = 'not json';
    assert.equal(
      reason(() =>
        verifyStripeSignature(
          Buffer.from(notJson),
          signStripePayload(notJson, newSecret, t),
          [newSecret],
          now,
        ),
      ),
      'malformed_payload',
    );
    assert.equal(
      reason(() => toProviderEvent({ id: 'evt' })),
      'malformed_payload',
    );
    assert.equal(
      reason(() => toProviderEvent(null)),
      'malformed_payload',
    );
  });

  it('maps events that are not about a payment without payment ids', () => {
    const event = toProviderEvent({
      id: 'evt_2',
      type: 'customer.created',
      created: t,
      data: { object: { id: 'cus_1', object: 'customer' } },
    });
    assert.deepEqual(event, {
      id: 'evt_2',
      type: 'customer.created',
      createdAt: t * 1000,
      paymentId: undefined,
      invoiceId: undefined,
      tenantId: undefined,
    });
  });
});

describe('the local provider', () => {
  it('completes payments on this machine, idempotently, and signs its webhooks like Stripe', async () => {
    const provider = localProvider({
      webhookSecrets: [newSecret],
      outcome: (r) => (r.amount > 5_000 ? 'failed' : 'succeeded'),
    });
    const customer = await provider.createCustomer('t1');
    assert.equal(await provider.createCustomer('t1'), customer);
    const request = {
      customerId: customer,
      amount: 1_900,
      currency: 'EUR',
      description: 'x',
      idempotencyKey: 'k1',
      tenantId: 't1',
      invoiceId: 'i1',
    };
    const paid = await provider.charge(request);
    assert.equal(paid.status, 'succeeded');
    assert.equal((await provider.charge(request)).paymentId, paid.paymentId);
    const declined = await provider.charge({ ...request, amount: 9_900, idempotencyKey: 'k2' });
    assert.deepEqual([declined.status, declined.failureCode], ['failed', 'card_declined']);
    provider.settle(paid.paymentId, 'failed');
    assert.equal(await provider.paymentStatus(paid.paymentId), 'failed');
    assert.equal(await provider.paymentStatus('pi_unknown'), 'pending');
    assert.throws(() => provider.settle('pi_unknown', 'failed'));

    const delivery = provider.webhook('payment_intent.payment_failed', paid.paymentId, now, 'evt_local_1');
    const event = provider.verifyWebhook(Buffer.from(delivery.body), delivery.signature, now);
    assert.deepEqual(event, {
      id: 'evt_local_1',
      type: 'payment_intent.payment_failed',
      createdAt: t * 1000,
      paymentId: paid.paymentId,
      invoiceId: 'i1',
      tenantId: 't1',
    });
    assert.throws(
      () => provider.verifyWebhook(Buffer.from(delivery.body), delivery.signature, now + 301_000),
      WebhookRefused,
    );
  });

  it('succeeds by default (the development flow)', async () => {
    const provider = localProvider({ webhookSecrets: [newSecret] });
    const result = await provider.charge({
      customerId: 'c',
      amount: 1,
      currency: 'EUR',
      description: 'x',
      idempotencyKey: 'k',
      tenantId: 't',
      invoiceId: 'i',
    });
    assert.equal(result.status, 'succeeded');
    assert.throws(() => localProvider({ webhookSecrets: [] }).webhook('x', 'pi', now));
  });
});
