import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAssertionSigner } from '@gatehouse/kit/service';
import { captureLogger, randomSecret } from '@gatehouse/kit/testing';
import { type BillingApp, buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { signStripePayload } from '../src/providers/webhook-signature.ts';
import { type FakeStripe, startFakeStripe } from './fake-stripe.ts';

/** The whole service configured for Stripe (as in production), talking to the local fake Stripe API. */
describe('billing with the Stripe provider, end to end against a fake Stripe', () => {
  let fake: FakeStripe;
  let billing: BillingApp;
  // Held so that `after` closes the app even when `before` timed out while it was still being built.
  let building: Promise<BillingApp> | undefined;
  const webhookSecret = `whsec_${randomSecret()}`;
  const oldSecret = `whsec_${randomSecret()}`;
  const assertion = randomSecret();
  let sign: ReturnType<typeof createAssertionSigner>;

  // Building the app (PGlite) can take long on a loaded machine; the tests themselves are quick.
  before(
    async () => {
      fake = await startFakeStripe();
      const config = loadConfig({
        GATEWAY_ASSERTION_SECRET: assertion,
        BILLING_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-billing-stripe-')),
        BILLING_DB_MEMORY: 'true',
        BILLING_PROVIDER: 'stripe',
        STRIPE_SECRET_KEY: fake.secretKey,
        STRIPE_WEBHOOK_SECRETS: `${webhookSecret},${oldSecret}`,
        STRIPE_API_BASE: `http://${fake.api.host}:${fake.api.port}`,
      });
      building = buildApp(config, { logger: captureLogger('billing').logger, scheduler: false });
      billing = await building;
      sign = createAssertionSigner(config.assertionKeys);
    },
    { timeout: 300_000 },
  );
  after(async () => {
    await fake?.close();
    await (await building)?.close();
  });

  function asOwner(tenantId: string, method: string, url: string) {
    const requestId = `req-${randomUUID()}`;
    return {
      'x-request-id': requestId,
      'x-gateway-assertion': sign(
        { sub: randomUUID(), tid: tenantId, roles: ['owner'] },
        { method, path: url, requestId },
      ),
    };
  }

  it('subscribes through Stripe, one customer and one payment intent, then handles its webhook once', async () => {
    const tenant = randomUUID();
    const url = `/api/billing/tenants/${tenant}/subscription`;
    const res = await billing.app.inject({
      method: 'POST',
      url,
      headers: asOwner(tenant, 'POST', url),
      payload: { plan: 'premium' },
    });
    assert.equal(res.statusCode, 201, res.body);
    const { invoice, subscription } = res.json();
    assert.equal(subscription.status, 'active');
    assert.match(invoice.paymentId, /^pi_/);
    assert.equal(fake.paymentIntent(invoice.paymentId)?.amount, 9_900);
    assert.deepEqual(fake.paymentIntent(invoice.paymentId)?.metadata, {
      tenantId: tenant,
      invoiceId: invoice.id,
    });
    assert.equal(fake.requests.filter((r) => r.path === '/v1/customers').length, 1);

    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({
      id: `evt_${randomUUID()}`,
      object: 'event',
      type: 'payment_intent.succeeded',
      created: now,
      data: {
        object: {
          id: invoice.paymentId,
          object: 'payment_intent',
          status: 'succeeded',
          metadata: { tenantId: tenant, invoiceId: invoice.id },
        },
      },
    });
    const post = (signature: string) =>
      billing.app.inject({
        method: 'POST',
        url: '/api/billing/webhooks/stripe',
        headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
        payload: body,
      });
    // Signed with the previous secret during a rotation: accepted.
    const first = await post(signStripePayload(body, oldSecret, now));
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), { received: true, duplicate: false });
    const replay = await post(signStripePayload(body, webhookSecret, now));
    assert.deepEqual(replay.json(), { received: true, duplicate: true });
    const stale = await post(signStripePayload(body, webhookSecret, now - 301));
    assert.equal(stale.statusCode, 400);
    assert.equal(fake.requests.filter((r) => r.path === '/v1/payment_intents').length, 1, 'charged once');
  });

  it('a declined card leaves an incomplete subscription; an outage is a 503 that changes nothing', async () => {
    const tenant = randomUUID();
    const url = `/api/billing/tenants/${tenant}/subscription`;
    fake.fail(10);
    const down = await billing.app.inject({
      method: 'POST',
      url,
      headers: asOwner(tenant, 'POST', url),
      payload: { plan: 'standard' },
    });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().code, 'BILL_PROVIDER_UNAVAILABLE');
    assert.equal(down.headers['retry-after'], '5');
    fake.fail(0);
    const res = await billing.app.inject({ method: 'GET', url, headers: asOwner(tenant, 'GET', url) });
    assert.equal(res.json().subscription, null);

    fake.declining.add(tenant);
    const declined = await billing.app.inject({
      method: 'POST',
      url,
      headers: asOwner(tenant, 'POST', url),
      payload: { plan: 'standard' },
    });
    assert.equal(declined.statusCode, 201, declined.body);
    assert.equal(declined.json().subscription.status, 'incomplete');
    assert.equal(declined.json().invoice.status, 'open');
    assert.equal(declined.json().invoice.failureCode, 'insufficient_funds');
    assert.equal(declined.json().entitlements.tier, 'free');
  });
});
