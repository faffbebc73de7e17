import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signStripePayload } from '../src/providers/webhook-signature.ts';
import { startBillingApp } from './app-harness.ts';
import { BACKENDS } from './backends.ts';

for (const backend of BACKENDS) {
  describe(`the billing API on ${backend.name}`, { skip: backend.skip }, () => {
    let t: Awaited<ReturnType<typeof startBillingApp>>;
    before(async () => {
      t = await startBillingApp(backend);
    });
    after(() => t?.close());

    it('lists the plans publicly, in integer minor units', async () => {
      const res = await t.call('GET', '/api/billing/plans');
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.deepEqual(
        body.plans.map((p: { id: string; price: { amount: number; currency: string } }) => [
          p.id,
          p.price.amount,
          p.price.currency,
        ]),
        [
          ['free', 0, 'EUR'],
          ['standard', 1_900, 'EUR'],
          ['premium', 9_900, 'EUR'],
        ],
      );
      assert.equal(body.plans[2].entitlements.tier, 'premium');
    });

    it('without the gateway assertion nothing resolves (401)', async () => {
      const { id } = t.tenant();
      const res = await t.call('GET', `/api/billing/tenants/${id}/subscription`);
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'BILL_UNAUTHENTICATED');
    });

    it('owner subscribes, a member reads and cannot change, another tenant gets 404', async () => {
      const a = t.tenant();
      const b = t.tenant();
      const url = `/api/billing/tenants/${a.id}/subscription`;
      const none = await t.call('GET', url, { as: a.member });
      assert.equal(none.statusCode, 200);
      assert.equal(none.json().subscription, null);
      assert.equal(none.json().entitlements.tier, 'free');

      const byMember = await t.call('POST', url, { as: a.member, body: { plan: 'premium' } });
      assert.equal(byMember.statusCode, 403);
      assert.equal(byMember.json().code, 'BILL_ROLE_FORBIDDEN');
      const memberChange = await t.call('POST', `${url}/change`, { as: a.member, body: { plan: 'premium' } });
      assert.equal(memberChange.json().code, 'BILL_ROLE_FORBIDDEN');

      const created = await t.call('POST', url, { as: a.owner, body: { plan: 'standard' } });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().subscription.status, 'active');
      assert.equal(created.json().invoice.total, 1_900);
      assert.equal(created.json().entitlements.tier, 'standard');
      assert.equal(t.publisher.get(a.id)?.tier, 'standard');

      const read = await t.call('GET', url, { as: a.member });
      assert.equal(read.json().subscription.plan, 'standard');

      for (const [method, path] of [
        ['GET', url],
        ['POST', `${url}/change`],
        ['GET', `/api/billing/tenants/${a.id}/invoices`],
        ['GET', `/api/billing/tenants/${a.id}/usage`],
        ['GET', `/api/billing/tenants/${a.id}/audit`],
      ] as const) {
        const res = await t.call(method, path, {
          as: b.owner,
          ...(method === 'POST' ? { body: { plan: 'free' } } : {}),
        });
        assert.equal(res.statusCode, 404, `${method} ${path}`);
        assert.equal(res.json().code, 'BILL_NOT_FOUND');
      }

      const upgrade = await t.call('POST', `${url}/change`, { as: a.admin, body: { plan: 'premium' } });
      assert.equal(upgrade.statusCode, 200, upgrade.body);
      assert.equal(upgrade.json().invoice.kind, 'upgrade');
      assert.equal(
        upgrade.json().invoice.lines.reduce((s: number, l: { amount: number }) => s + l.amount, 0),
        upgrade.json().invoice.total,
      );
      const invoices = await t.call('GET', `/api/billing/tenants/${a.id}/invoices`, { as: a.member });
      assert.equal(invoices.json().invoices.length, 2);
      const audit = await t.call('GET', `/api/billing/tenants/${a.id}/audit`, { as: a.owner });
      assert.deepEqual(
        audit.json().entries.map((e: { action: string; actor: string }) => e.action),
        ['subscription.upgraded', 'subscription.created'],
      );
      assert.equal(audit.json().entries[0].actor, `user:${a.admin.sub}`);
      assert.match(audit.json().entries[0].requestId, /^test-/);
      assert.equal(
        (await t.call('GET', `/api/billing/tenants/${a.id}/audit`, { as: a.member })).statusCode,
        403,
      );
    });

    it('Idempotency-Key: a retry answers the first answer without charging again; another body is refused', async () => {
      const a = t.tenant();
      const url = `/api/billing/tenants/${a.id}/subscription`;
      const headers = { 'idempotency-key': `key-${a.id}` };
      const before = t.charges();
      const first = await t.call('POST', url, { as: a.owner, body: { plan: 'premium' }, headers });
      const retry = await t.call('POST', url, { as: a.owner, body: { plan: 'premium' }, headers });
      assert.equal(first.statusCode, 201);
      assert.equal(retry.statusCode, 201);
      assert.equal(retry.headers['idempotent-replayed'], 'true');
      assert.deepEqual(retry.json(), first.json());
      assert.equal(t.charges(), before + 1);
      const other = await t.call('POST', url, { as: a.owner, body: { plan: 'standard' }, headers });
      assert.equal(other.statusCode, 422);
      assert.equal(other.json().code, 'BILL_IDEMPOTENCY_KEY_REUSED');
      const bad = await t.call('POST', url, {
        as: a.owner,
        body: { plan: 'standard' },
        headers: { 'idempotency-key': 'a b' },
      });
      assert.equal(bad.json().code, 'BILL_IDEMPOTENCY_KEY_INVALID');
      // A refusal is remembered like a success: the retry gets the same 409.
      const key = { 'idempotency-key': `again-${a.id}` };
      const refused = await t.call('POST', url, { as: a.owner, body: { plan: 'standard' }, headers: key });
      const refusedAgain = await t.call('POST', url, {
        as: a.owner,
        body: { plan: 'standard' },
        headers: key,
      });
      assert.equal(refused.json().code, 'BILL_ALREADY_SUBSCRIBED');
      assert.equal(refusedAgain.headers['idempotent-replayed'], 'true');
      assert.equal(refusedAgain.json().code, 'BILL_ALREADY_SUBSCRIBED');
      assert.match(String(refusedAgain.headers['content-type']), /problem\+json/);
    });

    it('bad input is a 400 problem with a stable code and changes nothing', async () => {
      const a = t.tenant();
      const url = `/api/billing/tenants/${a.id}/subscription`;
      const extra = await t.call('POST', url, { as: a.owner, body: { plan: 'premium', price: 0 } });
      assert.equal(extra.statusCode, 400);
      assert.equal(extra.json().code, 'BILL_VALIDATION');
      const free = await t.call('POST', url, { as: a.owner, body: { plan: 'free' } });
      assert.equal(free.json().code, 'BILL_FREE_PLAN');
      const unknown = await t.call('POST', url, { as: a.owner, body: { plan: 'gold' } });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().code, 'BILL_PLAN_NOT_FOUND');
      assert.equal((await t.call('GET', url, { as: a.owner })).json().subscription, null);
    });

    it('cancel and resume through the API', async () => {
      const a = t.tenant();
      const url = `/api/billing/tenants/${a.id}/subscription`;
      await t.call('POST', url, { as: a.owner, body: { plan: 'standard' } });
      const canceled = await t.call('POST', `${url}/cancel`, { as: a.owner });
      assert.equal(canceled.statusCode, 200, canceled.body);
      assert.equal(canceled.json().subscription.cancelAtPeriodEnd, true);
      const resumed = await t.call('POST', `${url}/resume`, { as: a.owner, body: {} });
      assert.equal(resumed.json().subscription.cancelAtPeriodEnd, false);
    });

    it('webhooks: forged → 400 and a security log line; valid → 200; duplicate → 200 without acting', async () => {
      const a = t.tenant();
      t.outcomes.set(a.id, 'pending');
      const created = await t.call('POST', `/api/billing/tenants/${a.id}/subscription`, {
        as: a.owner,
        body: { plan: 'standard' },
      });
      const paymentId = created.json().invoice.paymentId;
      t.provider.settle(paymentId, 'succeeded');
      const delivery = t.provider.webhook('payment_intent.succeeded', paymentId, t.clock.now());
      const post = (body: string, signature: string | undefined, path = '/api/billing/webhooks/local') =>
        t.billing.app.inject({
          method: 'POST',
          url: path,
          headers: {
            'content-type': 'application/json',
            ...(signature === undefined ? {} : { 'stripe-signature': signature }),
          },
          payload: body,
        });
      const forged = await post(
        delivery.body,
        signStripePayload(
          delivery.body,
          'whsec_not_ours_0123456789abcdefghijkl',
          Math.floor(t.clock.now() / 1000),
        ),
      );
      assert.equal(forged.statusCode, 400);
      assert.equal(forged.json().code, 'BILL_WEBHOOK_REFUSED');
      assert.ok(
        t.log.lines.some(
          (l) => l.event === 'webhook_refused' && l.security === true && l.reason === 'bad_signature',
        ),
      );
      assert.equal((await post(delivery.body, undefined)).statusCode, 400);
      assert.equal(
        (await post(delivery.body.replace('"created"', '"created" '), delivery.signature)).statusCode,
        400,
      );
      assert.equal(
        (await post(delivery.body, delivery.signature, '/api/billing/webhooks/stripe')).statusCode,
        404,
      );

      const ok = await post(delivery.body, delivery.signature);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json(), { received: true, duplicate: false });
      const invoices = await t.call('GET', `/api/billing/tenants/${a.id}/invoices`, { as: a.owner });
      assert.equal(invoices.json().invoices[0].status, 'paid');
      const dup = await post(delivery.body, delivery.signature);
      assert.deepEqual(dup.json(), { received: true, duplicate: true });
    });

    it('internal: usage reports and the quota check, for platform services only', async () => {
      const a = t.tenant();
      const asUser = await t.call('GET', `/internal/entitlements/${a.id}`, { as: a.owner });
      assert.equal(asUser.statusCode, 403);
      const record = await t.internal('GET', `/internal/entitlements/${a.id}`);
      assert.equal(record.statusCode, 200);
      assert.equal(record.json().tier, 'free');
      for (let i = 0; i < 9; i++) {
        const r = await t.internal('POST', '/internal/usage/messages', { tenantId: a.id, messages: 1_000 });
        assert.equal(r.statusCode, 200, r.body);
      }
      const reported = await t.internal('POST', '/internal/usage/messages', {
        tenantId: a.id,
        messages: 999,
      });
      assert.equal(reported.statusCode, 200, reported.body);
      assert.equal(reported.json().remaining, 1);
      assert.equal((await t.internal('GET', `/internal/usage/${a.id}/check?messages=1`)).statusCode, 200);
      const over = await t.internal('GET', `/internal/usage/${a.id}/check?messages=2`);
      assert.equal(over.statusCode, 429);
      assert.equal(over.json().code, 'BILL_QUOTA_EXCEEDED');
      const usage = await t.call('GET', `/api/billing/tenants/${a.id}/usage`, { as: a.member });
      assert.deepEqual([usage.json().messages, usage.json().messageQuota], [9_999, 10_000]);
    });

    it('serves its OpenAPI document and docs page; probes and metrics', async () => {
      const doc = await t.call('GET', '/api/billing/openapi.json');
      assert.equal(doc.statusCode, 200);
      const paths = Object.keys(doc.json().paths);
      for (const p of [
        '/api/billing/plans',
        '/api/billing/tenants/{tenantId}/subscription',
        '/api/billing/webhooks/{provider}',
      ])
        assert.ok(paths.includes(p), p);
      assert.equal((await t.call('GET', '/api/billing/docs')).statusCode < 400, true);
      assert.equal((await t.call('GET', '/ready')).statusCode, 200);
      assert.match((await t.call('GET', '/metrics')).body, /http_server_request_duration_seconds/);
    });
  });
}
