import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryRateLimiter } from './memory.ts';
import type { RateLimitPolicy } from './types.ts';

const policy: RateLimitPolicy = { name: 'free', limit: 5, windowSeconds: 10 };
const T0 = 1_700_000_000_000;

async function count(limiter: MemoryRateLimiter, key: string, n: number, now: number, p = policy) {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await limiter.check(key, p, now)).allowed) allowed++;
  return allowed;
}

describe('MemoryRateLimiter', () => {
  it('allows the limit per window, then one per emission interval', async () => {
    const limiter = new MemoryRateLimiter();
    assert.equal(await count(limiter, 'k', 8, T0), 5);
    const refused = await limiter.check('k', policy, T0 + 1_000);
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterSeconds, 1);
    assert.equal(refused.degraded, false);
    assert.equal(await count(limiter, 'k', 3, T0 + 2_000), 1);
    assert.equal(await count(limiter, 'k', 10, T0 + 12_000), 5);
  });

  it('keeps keys and policies apart', async () => {
    const limiter = new MemoryRateLimiter();
    assert.equal(await count(limiter, 'a', 6, T0), 5);
    assert.equal(await count(limiter, 'b', 6, T0), 5);
    assert.equal(await count(limiter, 'a', 3, T0, { name: 'route', limit: 2, windowSeconds: 60 }), 2);
  });

  it('honours a burst smaller than the limit', async () => {
    const limiter = new MemoryRateLimiter();
    const smooth = { ...policy, burst: 1 };
    assert.equal(await count(limiter, 'k', 3, T0, smooth), 1);
    assert.equal(await count(limiter, 'k', 3, T0 + 2_000, smooth), 1);
  });

  it('uses its clock when no time is passed', async () => {
    let now = T0;
    const limiter = new MemoryRateLimiter({ clock: () => now });
    for (let i = 0; i < 5; i++) assert.equal((await limiter.check('k', policy)).allowed, true);
    assert.equal((await limiter.check('k', policy)).allowed, false);
    now += 2_000;
    assert.equal((await limiter.check('k', policy)).allowed, true);
  });

  it('drops expired keys lazily as new ones arrive', async () => {
    const limiter = new MemoryRateLimiter();
    for (let i = 0; i < 1_000; i++) await limiter.check(`user-${i}`, policy, T0);
    assert.equal(limiter.size, 1_000);
    // Every one of them has its full quota back after 2 s (one request = one interval of 2 s).
    for (let i = 0; i < 1_000; i++) await limiter.check(`later-${i}`, policy, T0 + 2_000);
    assert.equal(limiter.size, 1_000);
    assert.equal(limiter.evicted, 0);
  });

  it('never holds more than maxKeys, however many distinct callers', async () => {
    const limiter = new MemoryRateLimiter({ maxKeys: 1_000 });
    for (let i = 0; i < 50_000; i++) await limiter.check(`user-${i}`, policy, T0);
    assert.equal(limiter.size, 1_000);
    assert.equal(limiter.status().keys, 1_000);
    assert.equal(limiter.evicted, 49_000);
    // The most recent callers are the ones kept: user-49999 is still limited.
    assert.equal(await count(limiter, 'user-49999', 5, T0), 4);
  });

  it('reports its status and empties on close', async () => {
    const limiter = new MemoryRateLimiter();
    await limiter.check('k', policy, T0);
    assert.deepEqual(limiter.status(), { backend: 'memory', degraded: false, keys: 1, lastError: null });
    await limiter.close();
    assert.equal(limiter.size, 0);
  });

  it('refuses a bad cap and a bad policy with codes', async () => {
    assert.throws(() => new MemoryRateLimiter({ maxKeys: 0 }), { code: 'RATELIMIT_INVALID_OPTION' });
    await assert.rejects(new MemoryRateLimiter().check('k', { ...policy, limit: 0 }), {
      code: 'RATELIMIT_INVALID_POLICY',
    });
  });
});
