import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rateLimitsSchema } from './config.ts';
import { MemoryRateLimiter } from './memory.ts';
import { checkAll, createPolicyFor } from './policy.ts';
import type { RateLimitPolicy } from './types.ts';

const T0 = 1_700_000_000_000;

describe('policyFor', () => {
  const policyFor = createPolicyFor(rateLimitsSchema.parse({}));

  it('picks the tier policy, named after the tier', () => {
    assert.deepEqual(policyFor('anonymous'), { tier: { name: 'anonymous', limit: 60, windowSeconds: 60 } });
    assert.deepEqual(policyFor('premium'), { tier: { name: 'premium', limit: 12_000, windowSeconds: 60 } });
  });

  it('adds the route override as a second policy, keeping the tier one', () => {
    assert.deepEqual(policyFor('free', { limit: 5, windowSeconds: 60 }), {
      tier: { name: 'free', limit: 600, windowSeconds: 60 },
      route: { name: 'route', limit: 5, windowSeconds: 60 },
    });
  });
});

describe('checkAll', () => {
  const tier: RateLimitPolicy = { name: 'free', limit: 10, windowSeconds: 60 };
  const route: RateLimitPolicy = { name: 'route', limit: 2, windowSeconds: 60 };

  it('refuses when the stricter route policy refuses, with its Retry-After', async () => {
    const limiter = new MemoryRateLimiter();
    const checks = [
      { key: 'u', policy: tier },
      { key: 'u:route:r', policy: route },
    ];
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await checkAll(limiter, checks, T0));
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.policy.name, d.remaining]),
      [
        [true, 'route', 1],
        [true, 'route', 0],
        [false, 'route', 0],
      ],
    );
    assert.equal(decisions[2]?.retryAfterSeconds, 30);
  });

  it('refuses when the tier policy refuses even though the route would allow', async () => {
    const limiter = new MemoryRateLimiter();
    for (let i = 0; i < 10; i++) await limiter.check('u', tier, T0);
    const d = await checkAll(
      limiter,
      [
        { key: 'u', policy: tier },
        { key: 'u:route:r', policy: route },
      ],
      T0,
    );
    assert.equal(d.allowed, false);
    assert.equal(d.policy.name, 'free');
  });

  it('passes a single check through and refuses an empty list', async () => {
    const limiter = new MemoryRateLimiter();
    const d = await checkAll(limiter, [{ key: 'u', policy: tier }], T0);
    assert.deepEqual(d, await new MemoryRateLimiter().check('u', tier, T0));
    await assert.rejects(checkAll(limiter, []), { code: 'RATELIMIT_NO_CHECKS' });
  });
});
