import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { captureLogger } from '@gatehouse/kit/testing';
import { buildApp } from '../../packages/billing/src/app.ts';
import { loadConfig } from '../../packages/billing/src/config.ts';
import { ManualClock } from '../../packages/billing/test/manual-clock.ts';
import { GATEWAY_ASSERTION_SECRET, type Gw, startGateway, token } from '../gateway/process.ts';

/**
 * A plan change reaches the rate limit of every gateway instance within a
 * second: two real gateway processes sharing Redis, billing in front of its
 * real database writing the entitlement record and announcing it. The
 * gateways cache tiers for 5 minutes here, so only the announcement can make
 * them apply the change in time.
 */

const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;
const skip =
  redisUrl === undefined ? 'SKIPPED (Redis not installed): GATEHOUSE_TEST_REDIS_URL is not set' : false;

function quota(res: Response): number {
  const policy = res.headers.get('ratelimit-policy') ?? '';
  return Number(/;q=(\d+)/.exec(policy)?.[1] ?? Number.NaN);
}

/** Polls every gateway at once until each enforces `expected`; ms until the last one did (its answer's arrival). */
async function until(gateways: Gw[], path: string, auth: string, expected: number): Promise<number> {
  const started = Date.now();
  const arrivals = await Promise.all(
    gateways.map(async (gw) => {
      for (;;) {
        const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${auth}` } });
        await res.arrayBuffer();
        if (quota(res) === expected) return Date.now();
        if (Date.now() - started > 15_000)
          assert.fail(`${gw.url} still answers q=${quota(res)}, expected ${expected}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }),
  );
  return Math.max(...arrivals) - started;
}

describe('a plan change reaches every gateway instance', { skip, timeout: 180_000 }, () => {
  it('an upgrade raises the limit and a downgrade (at period end) lowers it on two instances within 1 s', async (t) => {
    const clock = new ManualClock(Date.now());
    const config = loadConfig({
      GATEWAY_ASSERTION_SECRET,
      BILLING_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-billing-it-')),
      BILLING_DB_MEMORY: 'true',
      REDIS_URL: redisUrl,
    });
    const billing = await buildApp(config, {
      clock,
      scheduler: false,
      logger: captureLogger('billing').logger,
    });
    after(() => billing.close());
    const billingUrl = await billing.app.listen({ host: '127.0.0.1', port: 0 });

    // A generous Redis budget: on a loaded machine a lookup past the default 50 ms keeps the old
    // tier for 5 s (the resolver's error TTL), which would measure the machine, not the announcement.
    const extra = `rateLimits:
  redisUrl: ${redisUrl}
  budgetMs: 1000
  tierCacheSeconds: 300
  tiers:
    free: { limit: 1000, windowSeconds: 60 }
    standard: { limit: 2000, windowSeconds: 60 }
    premium: { limit: 4000, windowSeconds: 60 }
`;
    const gateways = await Promise.all([
      startGateway('billing-a', billingUrl, extra),
      startGateway('billing-b', billingUrl, extra),
    ]);
    const tenant = randomUUID();
    const owner = await token(randomUUID(), { tid: tenant, roles: ['owner'] });
    const path = `/api/billing/tenants/${tenant}/subscription`;

    assert.ok((await until(gateways, path, owner, 1000)) < 5_000, 'a tenant without a record is free');

    const subscribed = await fetch(`${gateways[0]?.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${owner}`,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ plan: 'premium' }),
    });
    assert.equal(subscribed.status, 201, await subscribed.clone().text());
    const upgradeMs = await until(gateways, path, owner, 4000);
    assert.ok(upgradeMs < 1_000, `upgrade applied on both instances after ${upgradeMs} ms`);

    const downgrade = await fetch(`${gateways[1]?.url}${path}/change`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'standard' }),
    });
    assert.equal(downgrade.status, 200, await downgrade.clone().text());
    assert.equal(
      ((await downgrade.json()) as { subscription: { pendingPlan: string } }).subscription.pendingPlan,
      'standard',
    );
    assert.equal(
      (await until(gateways, path, owner, 4000)) < 1_000,
      true,
      'still premium until the period ends',
    );

    const sub = await billing.billing.subscription(tenant);
    assert.ok(sub);
    clock.set(sub.periodEnd);
    await billing.billing.tick();
    const downgradeMs = await until(gateways, path, owner, 2000);
    t.diagnostic(`upgrade applied on both instances in ${upgradeMs} ms, downgrade in ${downgradeMs} ms`);
    assert.ok(downgradeMs < 1_000, `downgrade applied on both instances after ${downgradeMs} ms`);
  });
});

describe('one machine without Redis', { timeout: 180_000 }, () => {
  it("the gateway reads tiers from billing's internal endpoint: an upgrade applies within the 1 s cache", async (t) => {
    const config = loadConfig({
      GATEWAY_ASSERTION_SECRET,
      BILLING_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-billing-it-')),
      BILLING_DB_MEMORY: 'true',
    });
    const billing = await buildApp(config, { scheduler: false, logger: captureLogger('billing').logger });
    after(() => billing.close());
    const billingUrl = await billing.app.listen({ host: '127.0.0.1', port: 0 });
    const extra = `rateLimits:
  entitlementsUrl: ${billingUrl}
  budgetMs: 1000
  tierCacheSeconds: 1
  tiers:
    free: { limit: 1000, windowSeconds: 60 }
    premium: { limit: 4000, windowSeconds: 60 }
`;
    const gateway = await startGateway('billing-local', billingUrl, extra);
    const tenant = randomUUID();
    const owner = await token(randomUUID(), { tid: tenant, roles: ['owner'] });
    const path = `/api/billing/tenants/${tenant}/subscription`;
    await until([gateway], path, owner, 1000);
    const subscribed = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'premium' }),
    });
    assert.equal(subscribed.status, 201, await subscribed.clone().text());
    const ms = await until([gateway], path, owner, 4000);
    t.diagnostic(`upgrade applied after ${ms} ms (1 s tier cache, no Redis)`);
    assert.ok(ms < 1_500, `applied after ${ms} ms`);
  });
});
