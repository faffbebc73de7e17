import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import { ProviderUnavailable } from '../src/providers/provider.ts';
import { stripeProvider } from '../src/providers/stripe.ts';
import { signStripePayload } from '../src/providers/webhook-signature.ts';
import { type FakeStripe, startFakeStripe } from './fake-stripe.ts';

describe('the Stripe adapter against a local server answering as Stripe does', () => {
  let fake: FakeStripe;
  let provider: ReturnType<typeof stripeProvider>;
  const webhookSecret = `whsec_${randomSecret()}`;

  before(async () => {
    fake = await startFakeStripe();
    provider = stripeProvider({
      secretKey: fake.secretKey,
      webhookSecrets: [webhookSecret],
      api: fake.api,
      timeoutMs: 2_000,
    });
  });
  after(() => fake.close());

  it('creates one customer per tenant (idempotent) and charges it off-session', async () => {
    const customer = await provider.createCustomer('tenant-a');
    assert.equal(
      await provider.createCustomer('tenant-a'),
      customer,
      'a retried create returns the same customer',
    );
    const result = await provider.charge({
      customerId: customer,
      amount: 1_900,
      currency: 'EUR',
      description: 'Standard plan',
      idempotencyKey: 'invoice-1',
      tenantId: 'tenant-a',
      invoiceId: 'inv-1',
    });
    assert.equal(result.status, 'succeeded');
    const intent = fake.paymentIntent(result.paymentId);
    assert.equal(intent?.amount, 1_900);
    assert.equal(intent?.currency, 'eur');
    assert.deepEqual(intent?.metadata, { tenantId: 'tenant-a', invoiceId: 'inv-1' });
    assert.equal(await provider.paymentStatus(result.paymentId), 'succeeded');
  });

  it('never charges twice for one idempotency key', async () => {
    const customer = await provider.createCustomer('tenant-b');
    const request = {
      customerId: customer,
      amount: 500,
      currency: 'EUR',
      description: 'x',
      idempotencyKey: 'invoice-twice',
      tenantId: 'tenant-b',
      invoiceId: 'inv-2',
    };
    const first = await provider.charge(request);
    const second = await provider.charge(request);
    assert.equal(second.paymentId, first.paymentId);
    assert.equal(
      fake.requests.filter((r) => r.path === '/v1/payment_intents' && r.idempotencyKey === 'invoice-twice')
        .length,
      2,
    );
  });

  it('a declined card is an outcome (failed, with the decline code), not an outage', async () => {
    const customer = await provider.createCustomer('tenant-c');
    fake.declining.add(customer);
    const result = await provider.charge({
      customerId: customer,
      amount: 9_900,
      currency: 'EUR',
      description: 'Premium plan',
      idempotencyKey: 'invoice-declined',
      tenantId: 'tenant-c',
      invoiceId: 'inv-3',
    });
    assert.equal(result.status, 'failed');
    assert.equal(result.failureCode, 'insufficient_funds');
    assert.ok(result.paymentId.startsWith('pi_'));
    assert.equal(await provider.paymentStatus(result.paymentId), 'failed');
  });

  it('reads the current status of a payment that changed after the fact', async () => {
    const customer = await provider.createCustomer('tenant-d');
    const result = await provider.charge({
      customerId: customer,
      amount: 100,
      currency: 'EUR',
      description: 'x',
      idempotencyKey: 'invoice-later',
      tenantId: 'tenant-d',
      invoiceId: 'inv-4',
    });
    fake.setStatus(result.paymentId, 'processing');
    assert.equal(await provider.paymentStatus(result.paymentId), 'pending');
  });

  it('an outage or an unknown object is ProviderUnavailable', async () => {
    fake.fail(10);
    await assert.rejects(provider.createCustomer('tenant-e'), ProviderUnavailable);
    fake.fail(0);
    await assert.rejects(provider.paymentStatus('pi_missing'), ProviderUnavailable);
    const wrongKey = stripeProvider({
      secretKey: 'sk_test_wrong',
      webhookSecrets: [webhookSecret],
      api: fake.api,
    });
    await assert.rejects(wrongKey.createCustomer('tenant-f'), ProviderUnavailable);
  });

  it('opens a checkout session in setup mode for the customer to save a card', async () => {
    const customer = await provider.createCustomer('tenant-g');
    const url = await provider.setupSession(customer, 'http://localhost:8080/billing');
    assert.match(url, /^https:\/\/checkout\.stripe\.test\/c\/cs_/);
  });

  it('verifies webhooks with the SDK and maps payment intent events', () => {
    const now = Date.now();
    const body = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      type: 'payment_intent.payment_failed',
      created: Math.floor(now / 1000),
      data: {
        object: {
          id: 'pi_9',
          object: 'payment_intent',
          status: 'requires_payment_method',
          metadata: { tenantId: 't', invoiceId: 'i' },
        },
      },
    });
    const event = provider.verifyWebhook(
      Buffer.from(body),
      signStripePayload(body, webhookSecret, Math.floor(now / 1000)),
      now,
    );
    assert.deepEqual(event, {
      id: 'evt_1',
      type: 'payment_intent.payment_failed',
      createdAt: Math.floor(now / 1000) * 1000,
      paymentId: 'pi_9',
      invoiceId: 'i',
      tenantId: 't',
    });
  });
});
