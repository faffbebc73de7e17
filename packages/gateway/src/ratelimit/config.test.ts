import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rateLimitsSchema, routeRateLimitSchema } from './config.ts';

describe('rateLimitsSchema', () => {
  it('fills every default from an empty block', () => {
    assert.deepEqual(rateLimitsSchema.parse({}), {
      instances: 1,
      budgetMs: 50,
      maxKeys: 100_000,
      tierCacheSeconds: 30,
      tierCacheEntries: 10_000,
      tiers: {
        anonymous: { limit: 60, windowSeconds: 60 },
        free: { limit: 600, windowSeconds: 60 },
        standard: { limit: 3_000, windowSeconds: 60 },
        premium: { limit: 12_000, windowSeconds: 60 },
      },
    });
  });

  it('takes the documented example', () => {
    const config = rateLimitsSchema.parse({
      instances: 2,
      redisUrl: 'redis://redis:6379/0',
      tiers: { premium: { limit: 20_000, windowSeconds: 60, burst: 2_000 } },
    });
    assert.equal(config.instances, 2);
    assert.equal(config.redisUrl, 'redis://redis:6379/0');
    assert.deepEqual(config.tiers.premium, { limit: 20_000, windowSeconds: 60, burst: 2_000 });
    assert.deepEqual(config.tiers.free, { limit: 600, windowSeconds: 60 });
  });

  it('refuses typos, unknown tiers, bad numbers and non-Redis URLs', () => {
    for (const bad of [
      { instance: 2 },
      { instances: 0 },
      { tiers: { gold: { limit: 1, windowSeconds: 1 } } },
      { tiers: { free: { limit: 0, windowSeconds: 60 } } },
      { tiers: { free: { limit: 10, windowSeconds: 0.5 } } },
      { tiers: { free: { limit: 10, window: 60 } } },
      { redisUrl: 'http://redis:6379' },
      { budgetMs: 0 },
    ]) {
      assert.equal(rateLimitsSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

describe('routeRateLimitSchema', () => {
  it('takes a strict limit and refuses unknown keys', () => {
    assert.deepEqual(routeRateLimitSchema.parse({ limit: 5, windowSeconds: 60 }), {
      limit: 5,
      windowSeconds: 60,
    });
    assert.equal(routeRateLimitSchema.safeParse({ limit: 5, windowSeconds: 60, per: 'ip' }).success, false);
    assert.equal(routeRateLimitSchema.safeParse({ limit: 5 }).success, false);
  });
});
