import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { listAudit } from '../src/db/audit.ts';
import { countWebhookEvents } from '../src/db/webhook-events.ts';
import { days } from '../src/domain/clock.ts';
import { ProviderUnavailable } from '../src/providers/provider.ts';
import { BACKENDS } from './backends.ts';
import { errorCode, type Harness, OWNER, startHarness } from './service-harness.ts';

for (const backend of BACKENDS) {
  describe(`the billing service on ${backend.name}`, { skip: backend.skip }, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(backend);
    });
    after(() => h?.close());

    it('subscribes with the local provider: paid invoice, active, entitlements published, audited', async () => {
      const tenant = randomUUID();
      const result = await h.service.subscribe(OWNER, tenant, 'standard');
      assert.equal(result.subscription?.status, 'active');
      assert.equal(result.invoice?.status, 'paid');
      assert.equal(result.invoice?.total, 1_900);
      assert.equal(h.publisher.get(tenant)?.tier, 'standard');
      assert.equal((await h.service.entitlement(tenant)).seats, 25);
      const audit = await listAudit(h.db, tenant);
      assert.deepEqual(
        audit.map((a) => [a.actor, a.action, a.requestId]),
        [['user:owner-1', 'subscription.created', 'req-1']],
      );
      assert.equal(await errorCode(h.service.subscribe(OWNER, tenant, 'premium')), 'BILL_ALREADY_SUBSCRIBED');
      assert.equal(await errorCode(h.service.subscribe(OWNER, tenant, 'gold')), 'BILL_PLAN_NOT_FOUND');
    });

    it('a declined first payment leaves the subscription incomplete and the tenant free', async () => {
      const tenant = randomUUID();
      h.outcomes.set(tenant, 'failed');
      const result = await h.service.subscribe(OWNER, tenant, 'premium');
      assert.equal(result.subscription?.status, 'incomplete');
      assert.equal(result.invoice?.status, 'open');
      assert.equal(result.invoice?.failureCode, 'card_declined');
      assert.equal(h.publisher.get(tenant)?.tier, 'free');
    });

    it('two concurrent upgrades make one change and one charge', async () => {
      const tenant = randomUUID();
      await h.service.subscribe(OWNER, tenant, 'standard');
      h.clock.advance(days(10));
      const before = h.charges.filter((c) => c.tenantId === tenant).length;
      const results = await Promise.allSettled([
        h.service.changePlan(OWNER, tenant, 'premium'),
        h.service.changePlan({ id: 'user:admin-2', requestId: 'req-2' }, tenant, 'premium'),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(ok.length, 1);
      assert.equal(refused.length, 1);
      assert.equal((refused[0] as PromiseRejectedResult).reason.code, 'BILL_PLAN_UNCHANGED');
      assert.equal(h.charges.filter((c) => c.tenantId === tenant).length, before + 1);
      const invoices = await h.service.invoices(tenant);
      const upgrade = invoices.find((i) => i.kind === 'upgrade');
      assert.ok(upgrade);
      assert.equal(upgrade.lines.length, 2);
      assert.ok(upgrade.lines.every((l) => l.proration));
      assert.equal(upgrade.total, upgrade.lines[0]!.amount + upgrade.lines[1]!.amount);
      assert.equal(h.publisher.get(tenant)?.tier, 'premium');
    });

    it('a declined upgrade answers BILL_PAYMENT_DECLINED and changes nothing', async () => {
      const tenant = randomUUID();
      await h.service.subscribe(OWNER, tenant, 'standard');
      h.outcomes.set(tenant, 'failed');
      assert.equal(await errorCode(h.service.changePlan(OWNER, tenant, 'premium')), 'BILL_PAYMENT_DECLINED');
      const sub = await h.service.subscription(tenant);
      assert.equal(sub?.planId, 'standard');
      assert.equal((await h.service.invoices(tenant)).length, 1);
      assert.equal(h.publisher.get(tenant)?.tier, 'standard');
    });

    it('downgrade and cancel take effect at period end, driven by the clock', async () => {
      const down = randomUUID();
      const leaving = randomUUID();
      const start = h.clock.now();
      const d = await h.service.subscribe(OWNER, down, 'premium');
      await h.service.subscribe(OWNER, leaving, 'standard');
      await h.service.changePlan(OWNER, down, 'standard');
      await h.service.cancel(OWNER, leaving);
      h.clock.set(d.subscription!.periodEnd - 1);
      await h.service.tick();
      assert.equal(h.publisher.get(down)?.tier, 'premium');
      assert.equal(h.publisher.get(leaving)?.tier, 'standard');
      assert.equal(await errorCode(h.service.resume(OWNER, randomUUID())), 'BILL_NO_SUBSCRIPTION');
      h.clock.set(d.subscription!.periodEnd);
      assert.ok((await h.service.tick()) >= 2);
      assert.equal(h.publisher.get(down)?.tier, 'standard');
      assert.equal((await h.service.subscription(down))?.periodStart, d.subscription!.periodEnd);
      assert.equal(h.publisher.get(leaving)?.tier, 'free');
      assert.equal((await h.service.subscription(leaving))?.status, 'canceled');
      assert.equal(await errorCode(h.service.resume(OWNER, leaving)), 'BILL_SUBSCRIPTION_ENDED');
      assert.ok(start < h.clock.now());
    });

    it('past_due → grace → free; the open invoice is written off', async () => {
      const tenant = randomUUID();
      const s = await h.service.subscribe(OWNER, tenant, 'premium');
      h.outcomes.set(tenant, 'failed');
      h.clock.set(s.subscription!.periodEnd);
      await h.service.tick();
      assert.equal((await h.service.subscription(tenant))?.status, 'past_due');
      assert.equal(h.publisher.get(tenant)?.tier, 'premium', 'the plan stands during grace');
      h.clock.advance(days(7) - 1);
      await h.service.tick();
      assert.equal((await h.service.subscription(tenant))?.status, 'past_due');
      h.clock.advance(1);
      await h.service.tick();
      const ended = await h.service.subscription(tenant);
      assert.deepEqual([ended?.status, ended?.endReason], ['canceled', 'grace_expired']);
      assert.equal(h.publisher.get(tenant)?.tier, 'free');
      const renewal = (await h.service.invoices(tenant)).find((i) => i.kind === 'renewal');
      assert.equal(renewal?.status, 'uncollectible');
    });

    it('webhooks: stored once, duplicates answer without acting, out-of-order events act on the current state', async () => {
      const tenant = randomUUID();
      const s = await h.service.subscribe(OWNER, tenant, 'standard');
      h.outcomes.set(tenant, 'failed');
      h.clock.set(s.subscription!.periodEnd);
      await h.service.tick();
      const renewal = (await h.service.invoices(tenant)).find((i) => i.kind === 'renewal');
      assert.ok(renewal?.paymentId);
      const paymentId = renewal.paymentId;
      assert.equal((await h.service.subscription(tenant))?.status, 'past_due');

      // The customer fixes the card; the provider retries and the payment succeeds.
      h.provider.settle(paymentId, 'succeeded');
      const now = h.clock.now();
      const failedLate = h.provider.webhook(
        'payment_intent.payment_failed',
        paymentId,
        now,
        `evt_${randomUUID()}`,
      );
      const succeeded = h.provider.webhook('payment_intent.succeeded', paymentId, now, `evt_${randomUUID()}`);
      // The stale failure arrives after the fact: the provider says succeeded, so the tenant recovers.
      const first = await h.service.handleWebhook(Buffer.from(failedLate.body), failedLate.signature);
      assert.deepEqual(first, { duplicate: false, outcome: 'subscription.payment_recovered' });
      assert.equal((await h.service.subscription(tenant))?.status, 'active');
      const second = await h.service.handleWebhook(Buffer.from(succeeded.body), succeeded.signature);
      assert.deepEqual(second, { duplicate: false, outcome: 'already_settled' });
      const again = await h.service.handleWebhook(Buffer.from(succeeded.body), succeeded.signature);
      assert.deepEqual(again, { duplicate: true, outcome: 'duplicate' });
      const invoices = await h.service.invoices(tenant);
      assert.equal(invoices.filter((i) => i.status === 'paid').length, 2, 'initial and renewal, each once');
      const audit = await listAudit(h.db, tenant);
      assert.equal(audit.filter((a) => a.action === 'subscription.payment_recovered').length, 1);
      assert.equal(audit.find((a) => a.action === 'subscription.payment_recovered')?.actor, 'provider:local');
    });

    it('a pending payment that fails later puts the subscription past due; a paid invoice is final', async () => {
      const tenant = randomUUID();
      h.outcomes.set(tenant, 'pending');
      const s = await h.service.subscribe(OWNER, tenant, 'standard');
      assert.deepEqual([s.subscription?.status, s.invoice?.status], ['active', 'open']);
      const paymentId = s.invoice!.paymentId!;
      const pending = h.provider.webhook('payment_intent.processing', paymentId, h.clock.now());
      assert.equal(
        (await h.service.handleWebhook(Buffer.from(pending.body), pending.signature)).outcome,
        'payment_pending',
      );
      h.provider.settle(paymentId, 'failed');
      const failed = h.provider.webhook('payment_intent.payment_failed', paymentId, h.clock.now());
      assert.deepEqual(await h.service.handleWebhook(Buffer.from(failed.body), failed.signature), {
        duplicate: false,
        outcome: 'subscription.payment_failed',
      });
      assert.equal((await h.service.subscription(tenant))?.status, 'past_due');
      h.provider.settle(paymentId, 'succeeded');
      const recovered = h.provider.webhook('payment_intent.succeeded', paymentId, h.clock.now());
      assert.equal(
        (await h.service.handleWebhook(Buffer.from(recovered.body), recovered.signature)).outcome,
        'subscription.payment_recovered',
      );
      // The provider now says failed again (e.g. a dispute): the paid invoice stays paid, nothing flips.
      h.provider.settle(paymentId, 'failed');
      const late = h.provider.webhook('payment_intent.payment_failed', paymentId, h.clock.now());
      assert.equal(
        (await h.service.handleWebhook(Buffer.from(late.body), late.signature)).outcome,
        'already_settled',
      );
      assert.equal((await h.service.subscription(tenant))?.status, 'active');
      assert.equal((await h.service.invoices(tenant))[0]?.status, 'paid');
    });

    it('refuses forged or replayed webhooks before storing anything', async () => {
      const count = await countWebhookEvents(h.db, 'local');
      const delivery = h.provider.webhook('payment_intent.succeeded', 'pi_x', h.clock.now());
      const forged = delivery.signature.replace(/v1=[0-9a-f]{4}/, 'v1=0000');
      await assert.rejects(h.service.handleWebhook(Buffer.from(delivery.body), forged), {
        name: 'WebhookRefused',
      });
      const changed = delivery.body.replace('pi_x', 'pi_y');
      await assert.rejects(h.service.handleWebhook(Buffer.from(changed), delivery.signature), {
        name: 'WebhookRefused',
      });
      h.clock.advance(301_000);
      await assert.rejects(h.service.handleWebhook(Buffer.from(delivery.body), delivery.signature), {
        reason: 'timestamp_outside_tolerance',
      });
      assert.equal(await countWebhookEvents(h.db, 'local'), count);
      const unknown = h.provider.webhook('payment_intent.succeeded', 'pi_nobody', h.clock.now());
      assert.equal(
        (await h.service.handleWebhook(Buffer.from(unknown.body), unknown.signature)).outcome,
        'unknown_payment',
      );
    });

    it('counts messages per billing period against the plan quota', async () => {
      const tenant = randomUUID();
      const none = await h.service.usage(tenant);
      assert.deepEqual([none.messages, none.messageQuota], [0, 10_000]);
      await h.service.subscribe(OWNER, tenant, 'standard');
      await h.service.recordMessages(tenant, 40);
      const usage = await h.service.recordMessages(tenant, 2);
      assert.deepEqual([usage.messages, usage.messageQuota, usage.remaining], [42, 100_000, 99_958]);
      assert.equal((await h.service.usage(tenant)).messages, 42);
    });
  });

  describe(`the billing service on ${backend.name}, with its dependencies failing`, {
    skip: backend.skip,
  }, () => {
    it('a provider outage answers BILL_PROVIDER_UNAVAILABLE and stores nothing', async () => {
      let down = false;
      const h = await startHarness(backend, {
        provider: (p) => ({
          ...p,
          name: p.name,
          async charge(request) {
            if (down) throw new ProviderUnavailable('connect ECONNREFUSED');
            return p.charge(request);
          },
          createCustomer: (t) => p.createCustomer(t),
          paymentStatus: (id) => p.paymentStatus(id),
          verifyWebhook: (b, s, n) => p.verifyWebhook(b, s, n),
        }),
      });
      try {
        const tenant = randomUUID();
        down = true;
        assert.equal(
          await errorCode(h.service.subscribe(OWNER, tenant, 'standard')),
          'BILL_PROVIDER_UNAVAILABLE',
        );
        assert.equal(await h.service.subscription(tenant), undefined);
        assert.equal((await h.service.invoices(tenant)).length, 0);
        down = false;
        assert.equal((await h.service.subscribe(OWNER, tenant, 'standard')).subscription?.status, 'active');
      } finally {
        await h.close();
      }
    });

    it('an entitlement store outage keeps the change and publishes it on the next tick', async () => {
      let down = true;
      const h = await startHarness(backend, {
        publisher: (p) => ({
          kind: p.kind,
          async publish(record) {
            if (down) throw new Error('ECONNREFUSED');
            return p.publish(record);
          },
        }),
      });
      try {
        const tenant = randomUUID();
        await h.service.subscribe(OWNER, tenant, 'premium');
        assert.equal(h.publisher.get(tenant), undefined);
        assert.match(h.log.text(), /entitlement record not published/);
        down = false;
        await h.service.tick();
        assert.equal(h.publisher.get(tenant)?.tier, 'premium');
        assert.equal(await h.service.republish(), 0);
      } finally {
        await h.close();
      }
    });
  });
}
