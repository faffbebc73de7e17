import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from '../../../../scripts/backends.ts';
import { rateLimitsSchema } from './config.ts';
import { createRateLimiting } from './rate-limiting.ts';
import { RedisRateLimiter } from './redis.ts';
import { entitlementKey, memoryEntitlementStore } from './tiers.ts';

const config = rateLimitsSchema.parse({
  tiers: {
    anonymous: { limit: 3, windowSeconds: 3_600 },
    free: { limit: 5, windowSeconds: 3_600 },
    premium: { limit: 50, windowSeconds: 3_600 },
  },
});
const signIn = { id: '/auth/sign-in', rateLimit: { limit: 2, windowSeconds: 3_600 } };

describe('createRateLimiting (memory)', () => {
  it('limits anonymous callers per client address under the anonymous tier', async () => {
    const rl = createRateLimiting(config);
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await rl.limit(undefined, '198.51.100.7'));
    assert.deepEqual(
      outcomes.map((o) => [o.tier, o.decision.allowed]),
      [
        ['anonymous', true],
        ['anonymous', true],
        ['anonymous', true],
        ['anonymous', false],
      ],
    );
    assert.equal(outcomes[3]?.headers['RateLimit-Policy'], '"anonymous";q=3;w=3600');
    assert.ok(Number(outcomes[3]?.headers['Retry-After']) >= 1);
    assert.equal((await rl.limit(undefined, '198.51.100.8')).decision.allowed, true);
    assert.equal(rl.status().backend, 'memory');
    await rl.close();
  });

  it("uses the tenant's tier from its entitlement, free by default", async () => {
    const rl = createRateLimiting(config, {
      entitlements: memoryEntitlementStore(new Map([['big', 'premium']])),
    });
    const premium = await rl.limit({ tid: 'big', sub: 'u' }, '198.51.100.7');
    assert.equal(premium.tier, 'premium');
    assert.equal(premium.headers.RateLimit, '"premium";r=49;t=72');
    const free = await rl.limit({ tid: 'small', sub: 'u' }, '198.51.100.7');
    assert.equal(free.tier, 'free');
    assert.equal(free.decision.remaining, 4);
    await rl.close();
  });

  it('applies a route override on top of the tier, per caller and route', async () => {
    const rl = createRateLimiting(config);
    const user = { tid: 't', sub: 'u' };
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await rl.limit(user, '198.51.100.7', signIn));
    assert.deepEqual(
      results.map((r) => [r.decision.allowed, r.decision.policy.name]),
      [
        [true, 'route'],
        [true, 'route'],
        [false, 'route'],
      ],
    );
    // Another user is not affected, and the same user's other routes only count the tier (3 of 5 used).
    assert.equal((await rl.limit({ tid: 't', sub: 'other' }, '198.51.100.7', signIn)).decision.allowed, true);
    const elsewhere = await rl.limit(user, '198.51.100.7', { id: '/api/chat' });
    assert.deepEqual([elsewhere.decision.allowed, elsewhere.decision.remaining], [true, 1]);
    await rl.close();
  });
});

describe('createRateLimiting (Redis unreachable)', () => {
  it('decides locally at limit / instances, marks the decision degraded and counts it', async () => {
    const reasons: string[] = [];
    const rl = createRateLimiting(
      rateLimitsSchema.parse({
        ...config,
        instances: 2,
        redisUrl: `redis://127.0.0.1:${await freePort()}`,
      }),
      { onDegraded: (reason) => reasons.push(reason) },
    );
    try {
      const user = { tid: 't', sub: 'u' };
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await rl.limit(user, '198.51.100.7'));
      // The tier lookup fell back to free (5/h), halved for 2 instances: 2 allowed.
      assert.deepEqual(
        results.map((r) => [r.tier, r.decision.allowed, r.decision.degraded]),
        [
          ['free', true, true],
          ['free', true, true],
          ['free', false, true],
        ],
      );
      assert.equal(results[0]?.headers['RateLimit-Policy'], '"free";q=2;w=3600');
      assert.ok(reasons.length >= 3);
      assert.equal(rl.status().degraded, true);
      assert.ok(rl.limiter instanceof RedisRateLimiter);
    } finally {
      await rl.close();
    }
  });
});

const url = process.env.GATEHOUSE_TEST_REDIS_URL;
const skip = url === undefined ? 'SKIPPED: Redis not available (GATEHOUSE_TEST_REDIS_URL unset)' : false;

describe('createRateLimiting (Redis)', { timeout: 30_000 }, () => {
  it('reads tiers from the entitlement hash and counts in Redis', { skip }, async () => {
    const tenant = `test-${randomUUID()}`;
    const admin = new Redis(url as string);
    const rl = createRateLimiting(rateLimitsSchema.parse({ ...config, redisUrl: url, budgetMs: 2_000 }));
    try {
      await admin.hset(entitlementKey(tenant), 'tier', 'premium');
      assert.equal(await (rl.limiter as RedisRateLimiter).ready(), true);
      const outcome = await rl.limit({ tid: tenant, sub: 'u' }, '198.51.100.7');
      assert.equal(outcome.tier, 'premium');
      assert.equal(outcome.decision.degraded, false);
      assert.equal(outcome.decision.remaining, 49);
      const stored = await admin.get(`gatehouse:rl:premium:tenant:${tenant}:user:u`);
      assert.ok(stored !== null && Number(stored) > 0);
      assert.equal(rl.status().degraded, false);
    } finally {
      await admin.del(entitlementKey(tenant), `gatehouse:rl:premium:tenant:${tenant}:user:u`);
      admin.disconnect();
      await rl.close();
    }
  });
});
