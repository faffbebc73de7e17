import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createAssertionVerifier, ENTITLEMENT_CHANNEL } from '@gatehouse/kit';
import { randomSecret, startHttpServer } from '@gatehouse/kit/testing';
import { Redis } from 'ioredis';
import {
  type EntitlementStore,
  entitlementKey,
  followEntitlementChanges,
  httpEntitlementStore,
  memoryEntitlementStore,
  parseTier,
  redisEntitlementStore,
  TierResolver,
} from './tiers.ts';

/** A store that counts its lookups and can be told to fail or hang (the store is the dependency). */
function countingStore(tiers: Record<string, string>) {
  const state = { calls: 0, mode: 'ok' as 'ok' | 'fail' | 'hang' };
  const store: EntitlementStore = {
    async tierOf(tenantId) {
      state.calls++;
      if (state.mode === 'fail') throw new Error('store down');
      if (state.mode === 'hang') return new Promise<string | undefined>(() => {});
      await new Promise((r) => setImmediate(r));
      return tiers[tenantId];
    },
  };
  return { store, state };
}

describe('parseTier', () => {
  it('accepts the tenant tiers, anything else is free', () => {
    assert.equal(parseTier('premium'), 'premium');
    assert.equal(parseTier(' Standard '), 'standard');
    assert.equal(parseTier('free'), 'free');
    for (const other of [undefined, null, '', 'enterprise', 'anonymous', '__proto__']) {
      assert.equal(parseTier(other), 'free', String(other));
    }
  });
});

describe('TierResolver', () => {
  it('reads the tier from the store and defaults to free without a record', async () => {
    const resolver = new TierResolver({
      store: memoryEntitlementStore(new Map([['t-premium', 'premium']])),
      budgetMs: 5_000,
    });
    assert.equal(await resolver.tierOf('t-premium'), 'premium');
    assert.equal(await resolver.tierOf('t-none'), 'free');
    assert.equal(entitlementKey('t1'), 'entitlement:t1');
  });

  it('caches for the TTL, then asks again', async () => {
    let now = 1_000;
    const tiers: Record<string, string> = { t: 'standard' };
    const { store, state } = countingStore(tiers);
    const resolver = new TierResolver({ store, ttlMs: 30_000, clock: () => now, budgetMs: 5_000 });
    assert.equal(await resolver.tierOf('t'), 'standard');
    tiers.t = 'premium';
    now += 29_999;
    assert.equal(await resolver.tierOf('t'), 'standard');
    assert.equal(state.calls, 1);
    now += 1;
    assert.equal(await resolver.tierOf('t'), 'premium');
    assert.equal(state.calls, 2);
  });

  it('shares one lookup among concurrent requests for a tenant', async () => {
    const { store, state } = countingStore({ t: 'premium' });
    const resolver = new TierResolver({ store, budgetMs: 5_000 });
    const tiers = await Promise.all(Array.from({ length: 50 }, () => resolver.tierOf('t')));
    assert.ok(tiers.every((t) => t === 'premium'));
    assert.equal(state.calls, 1);
  });

  it('answers free when the store fails, without failing, and reports the error', async () => {
    const { store, state } = countingStore({ t: 'premium' });
    const errors: unknown[] = [];
    const resolver = new TierResolver({ store, onError: (err) => errors.push(err) });
    state.mode = 'fail';
    assert.equal(await resolver.tierOf('t'), 'free');
    assert.equal(errors.length, 1);
  });

  it('keeps the last known tier through a store failure, and retries after the error TTL', async () => {
    let now = 0;
    const { store, state } = countingStore({ t: 'premium' });
    const resolver = new TierResolver({
      store,
      ttlMs: 1_000,
      errorTtlMs: 5_000,
      clock: () => now,
      budgetMs: 5_000,
    });
    assert.equal(await resolver.tierOf('t'), 'premium');
    state.mode = 'fail';
    now = 2_000;
    assert.equal(await resolver.tierOf('t'), 'premium');
    assert.equal(state.calls, 2);
    now = 6_000;
    assert.equal(await resolver.tierOf('t'), 'premium');
    assert.equal(state.calls, 2, 'no new lookup within the error TTL');
    state.mode = 'ok';
    now = 7_001;
    assert.equal(await resolver.tierOf('t'), 'premium');
    assert.equal(state.calls, 3);
  });

  it('gives up on a store that does not answer within the budget', async () => {
    const { store, state } = countingStore({ t: 'premium' });
    state.mode = 'hang';
    const errors: unknown[] = [];
    const resolver = new TierResolver({ store, budgetMs: 20, onError: (err) => errors.push(err) });
    assert.equal(await resolver.tierOf('t'), 'free');
    assert.equal((errors[0] as { code?: string }).code, 'TIMEOUT');
  });

  it('holds at most maxEntries tenants', async () => {
    const resolver = new TierResolver({ store: memoryEntitlementStore(), maxEntries: 100, budgetMs: 5_000 });
    for (let i = 0; i < 5_000; i++) await resolver.tierOf(`t${i}`);
    assert.equal(resolver.size, 100);
  });

  it('forgets a tenant on invalidate', async () => {
    const tiers: Record<string, string> = { t: 'free' };
    const { store } = countingStore(tiers);
    const resolver = new TierResolver({ store, budgetMs: 5_000 });
    assert.equal(await resolver.tierOf('t'), 'free');
    tiers.t = 'premium';
    resolver.invalidate('t');
    assert.equal(await resolver.tierOf('t'), 'premium');
  });
});

const url = process.env.GATEHOUSE_TEST_REDIS_URL;
const skip = url === undefined ? 'SKIPPED: Redis not available (GATEHOUSE_TEST_REDIS_URL unset)' : false;

describe('redisEntitlementStore', { timeout: 30_000 }, () => {
  let redis: Redis;
  const tenant = `test-${randomUUID()}`;

  before(async () => {
    if (skip) return;
    redis = new Redis(url as string, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    await new Promise((resolve) => redis.once('ready', resolve));
  });

  after(async () => {
    if (skip) return;
    await redis.del(entitlementKey(tenant));
    redis.disconnect();
  });

  it('reads the tier field of the entitlement hash', { skip }, async () => {
    const resolver = new TierResolver({ store: redisEntitlementStore(redis), budgetMs: 2_000 });
    assert.equal(await resolver.tierOf(tenant), 'free');
    await redis.hset(entitlementKey(tenant), { tier: 'standard', plan: 'team' });
    resolver.invalidate(tenant);
    assert.equal(await resolver.tierOf(tenant), 'standard');
  });

  it('answers free when the connection is gone', { skip }, async () => {
    const closed = new Redis(url as string, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    const errors: unknown[] = [];
    const resolver = new TierResolver({
      store: redisEntitlementStore(closed),
      onError: (e) => errors.push(e),
    });
    assert.equal(await resolver.tierOf(tenant), 'free');
    assert.equal(errors.length, 1);
    closed.disconnect();
  });
});

describe('followEntitlementChanges', { timeout: 30_000 }, () => {
  it('forgets an announced tenant at once on every instance; ignores other channels', {
    skip,
  }, async () => {
    const admin = new Redis(url as string);
    const tenant = `test-${randomUUID()}`;
    const instances = [0, 1].map(() => {
      const resolver = new TierResolver({
        store: redisEntitlementStore(admin),
        ttlMs: 60_000,
        budgetMs: 2_000,
      });
      const subscriber = new Redis(url as string);
      return { resolver, subscriber, following: followEntitlementChanges(subscriber, resolver) };
    });
    try {
      await Promise.all(
        instances.map(
          (i) =>
            new Promise<void>((resolve) => {
              const check = () =>
                i.subscriber.status === 'ready' ? setTimeout(resolve, 50) : setTimeout(check, 10);
              check();
            }),
        ),
      );
      for (const i of instances) assert.equal(await i.resolver.tierOf(tenant), 'free');
      await admin.hset(entitlementKey(tenant), 'tier', 'premium');
      for (const i of instances)
        assert.equal(i.resolver.cachedTier(tenant), 'free', 'cached until announced');
      await admin.publish('another-channel', tenant);
      await admin.publish(ENTITLEMENT_CHANNEL, '');
      await new Promise((r) => setTimeout(r, 50));
      for (const i of instances)
        assert.equal(i.resolver.cachedTier(tenant), 'free', 'other channels change nothing');
      await admin.publish(ENTITLEMENT_CHANNEL, tenant);
      const started = Date.now();
      for (const i of instances) {
        while (i.resolver.cachedTier(tenant) !== undefined && Date.now() - started < 1_000)
          await new Promise((r) => setTimeout(r, 5));
        assert.equal(await i.resolver.tierOf(tenant), 'premium');
      }
      assert.ok(Date.now() - started < 1_000, 'within a second');
      // A reconnect may have missed announcements: everything cached is dropped.
      const [first] = instances;
      assert.ok(first);
      first.subscriber.disconnect(true);
      await new Promise((r) => setTimeout(r, 10));
      while (first.subscriber.status !== 'ready') await new Promise((r) => setTimeout(r, 10));
      assert.equal(first.resolver.cachedTier(tenant), undefined);
    } finally {
      for (const i of instances) i.following.close();
      await admin.del(entitlementKey(tenant));
      admin.disconnect();
    }
  });
});

describe('httpEntitlementStore (one machine without Redis)', () => {
  it("reads the tier from billing's internal endpoint with a signed service call", async () => {
    const keys = [{ kid: 'gw1', secret: randomSecret() }];
    const verify = createAssertionVerifier(keys);
    let down = false;
    const billing = await startHttpServer((req, res) => {
      const path = (req.url ?? '').split('?')[0] as string;
      const verdict = verify(req.headers['x-gateway-assertion'], {
        method: req.method ?? '',
        path,
        requestId: String(req.headers['x-request-id']),
      });
      if (!verdict.ok || down) {
        res.statusCode = down ? 503 : 401;
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ tier: path.endsWith('/big') ? 'premium' : 'free', seats: 5 }));
    });
    try {
      const store = httpEntitlementStore(`${billing.url}/`, keys);
      assert.equal(await store.tierOf('big'), 'premium');
      assert.equal(await store.tierOf('small'), 'free');
      const forged = httpEntitlementStore(billing.url, [{ kid: 'gw1', secret: randomSecret() }]);
      await assert.rejects(forged.tierOf('big'), /401/);
      const resolver = new TierResolver({ store, budgetMs: 2_000 });
      assert.equal(await resolver.tierOf('big'), 'premium');
      down = true;
      resolver.invalidate('big');
      assert.equal(
        await resolver.tierOf('big'),
        'free',
        'billing down: free (no last tier after invalidation)',
      );
    } finally {
      await billing.close();
    }
  });
});
