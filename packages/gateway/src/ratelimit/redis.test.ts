import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryRateLimiter } from './memory.ts';
import { localShare, RedisRateLimiter } from './redis.ts';
import type { RateLimitPolicy } from './types.ts';

/**
 * Against the test run's shared Redis (GATEHOUSE_TEST_REDIS_URL, started by
 * scripts/test.ts when redis-server is installed). Other suites use the same
 * server at the same time: every key here has its own random prefix, and
 * nothing is flushed. Failure modes (stopping Redis) are in
 * redis-failover.test.ts, on a server of its own.
 */
const url = process.env.GATEHOUSE_TEST_REDIS_URL;
const skip = url === undefined ? 'SKIPPED: Redis not available (GATEHOUSE_TEST_REDIS_URL unset)' : false;

describe('RedisRateLimiter (shared Redis)', { timeout: 60_000 }, () => {
  const prefix = `test:rl:${randomUUID()}:`;
  const limiters: RedisRateLimiter[] = [];
  let admin: Redis;
  // Closed in after() even when a test failed half-way (an open one would keep the process alive).
  const clients: Redis[] = [];

  function limiter(options: { budgetMs?: number } = {}): RedisRateLimiter {
    // A generous budget: these tests are about the count, not the fallback, on a busy CI machine.
    const l = new RedisRateLimiter({ url: url as string, keyPrefix: prefix, budgetMs: 5_000, ...options });
    limiters.push(l);
    return l;
  }

  before(async () => {
    if (skip) return;
    admin = new Redis(url as string);
  });

  after(async () => {
    if (skip) return;
    await Promise.all(limiters.map((l) => l.close()));
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
    for (const c of clients) c.disconnect();
  });

  it('limits one key: the burst, then refusals with Retry-After', { skip }, async () => {
    const l = limiter();
    assert.equal(await l.ready(), true);
    const policy: RateLimitPolicy = { name: 'free', limit: 10, windowSeconds: 3_600 };
    const decisions = [];
    for (let i = 0; i < 12; i++) decisions.push(await l.check('tenant:t1:user:u1', policy));
    assert.deepEqual(
      decisions.map((d) => d.allowed),
      [...new Array(10).fill(true), false, false],
    );
    assert.deepEqual(
      decisions.map((d) => d.remaining),
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0],
    );
    const refused = decisions[10];
    assert.equal(refused?.degraded, false);
    assert.equal(refused?.limit, 10);
    assert.equal(refused?.policy, policy);
    // T = 360 s; the 11th request waits (almost) one interval, the full quota is a window away.
    assert.ok(refused !== undefined && refused.retryAfterSeconds > 350 && refused.retryAfterSeconds <= 360);
    assert.ok(refused.resetSeconds > 3_590 && refused.resetSeconds <= 3_600);
    assert.deepEqual(l.status(), { backend: 'redis', degraded: false, keys: 0, lastError: null });
  });

  it('decides like the memory limiter (one algorithm, two stores)', { skip }, async () => {
    const l = limiter();
    await l.ready();
    const memory = new MemoryRateLimiter();
    const policy: RateLimitPolicy = { name: 'same', limit: 20, windowSeconds: 3_600, burst: 5 };
    const strip = ({
      allowed,
      limit,
      remaining,
      retryAfterSeconds,
    }: Awaited<ReturnType<typeof l.check>>) => ({
      allowed,
      limit,
      remaining,
      // Whole seconds: the two clocks may be a few ms apart.
      retryAfterSeconds,
    });
    for (let i = 0; i < 8; i++) {
      assert.deepEqual(
        strip(await l.check('k', policy)),
        strip(await memory.check('k', policy)),
        `request ${i}`,
      );
    }
  });

  it('stores the TAT with an expiry no longer than the tolerance', { skip }, async () => {
    const l = limiter();
    await l.ready();
    await l.check('ttl', { name: 'ttl', limit: 10, windowSeconds: 60 });
    const ttl = await admin.pttl(`${prefix}ttl:ttl`);
    // One request = one interval of debt (6 s); the tolerance is 60 s.
    assert.ok(ttl > 0 && ttl <= 6_000, `pttl ${ttl}`);
    await l.check('ttl2', { name: 'ttl', limit: 10, windowSeconds: 60, burst: 1 });
    const ttl2 = await admin.pttl(`${prefix}ttl:ttl2`);
    assert.ok(ttl2 > 0 && ttl2 <= 6_000, `pttl ${ttl2}`);
  });

  it('is exact across instances: two limiters, 500 parallel checks, limit 100 → exactly 100 allowed', {
    skip,
  }, async () => {
    const a = limiter();
    const b = limiter();
    assert.deepEqual(await Promise.all([a.ready(), b.ready()]), [true, true]);
    const policy: RateLimitPolicy = { name: 'shared', limit: 100, windowSeconds: 3_600 };
    const decisions = await Promise.all(
      Array.from({ length: 500 }, (_, i) => (i % 2 === 0 ? a : b).check('tenant:t:user:flood', policy)),
    );
    assert.equal(decisions.filter((d) => d.degraded).length, 0, 'no check fell back to local memory');
    assert.equal(decisions.filter((d) => d.allowed).length, 100);
    // Both instances took part in one count. (With auto-pipelining one instance's burst may reach
    // Redis as a whole before the other's, so which instance got the 100 is not fixed.)
    const aAllowed = decisions.filter((d, i) => d.allowed && i % 2 === 0).length;
    const bAllowed = decisions.filter((d, i) => d.allowed && i % 2 === 1).length;
    assert.equal(aAllowed + bAllowed, 100);
    assert.ok(
      decisions.some((d, i) => !d.allowed && i % 2 === 0) ||
        decisions.some((d, i) => !d.allowed && i % 2 === 1),
    );
    assert.ok(aAllowed < 250 && bAllowed < 250, 'neither instance decided alone');
  });

  it('sends the checks of one turn of the event loop in one write, each with its own answer', {
    skip,
  }, async () => {
    const l = limiter();
    assert.equal(await l.ready(), true);
    const stream = (l.client as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const write = stream.write;
    let writes = 0;
    stream.write = (...args: unknown[]) => {
      writes++;
      return write.apply(stream, args);
    };
    const policy: RateLimitPolicy = { name: 'batched', limit: 30, windowSeconds: 3_600 };
    // 60 checks, each from its own callback (as requests arrive from their own sockets): the
    // client's auto-pipelining (redisClientOptions) gathers them until the loop has run every
    // callback, then writes them together; without it, 60 writes.
    const decisions = await new Promise<Awaited<ReturnType<RedisRateLimiter['check']>>[]>((resolve) => {
      const pending: Promise<Awaited<ReturnType<RedisRateLimiter['check']>>>[] = [];
      for (let i = 0; i < 60; i++) {
        setImmediate(() => {
          pending.push(l.check(`tenant:t:user:batch-${i % 2}`, policy));
          if (pending.length === 60) resolve(Promise.all(pending));
        });
      }
    });
    stream.write = write;
    assert.ok(writes <= 2, `${writes} writes for 60 checks`);
    assert.equal(decisions.filter((d) => d.degraded).length, 0);
    // Two keys, a limit of 30 each: every check got its own key's answer.
    assert.equal(decisions.filter((d) => d.allowed).length, 60);
    assert.deepEqual(
      [0, 1].map((k) => decisions.filter((_, i) => i % 2 === k).map((d) => d.remaining)),
      [0, 1].map(() => Array.from({ length: 30 }, (_, n) => 29 - n)),
    );
  });

  it('leaves a client it was given open on close', { skip }, async () => {
    const client = new Redis(url as string, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    clients.push(client);
    const l = new RedisRateLimiter({ client, keyPrefix: prefix });
    await l.ready();
    assert.equal(l.client, client);
    assert.equal((await l.check('own', { name: 'own', limit: 1, windowSeconds: 60 })).allowed, true);
    await l.close();
    assert.equal(await client.ping(), 'PONG');
  });
});

describe('RedisRateLimiter options and local share', () => {
  it('refuses bad options with a code', () => {
    assert.throws(() => new RedisRateLimiter({}), { code: 'RATELIMIT_INVALID_OPTION' });
    assert.throws(() => new RedisRateLimiter({ url: 'redis://127.0.0.1:1', instances: 0 }), {
      code: 'RATELIMIT_INVALID_OPTION',
    });
    assert.throws(() => new RedisRateLimiter({ url: 'redis://127.0.0.1:1', budgetMs: 0 }), {
      code: 'RATELIMIT_INVALID_OPTION',
    });
  });

  it('divides the limit (and an explicit burst) by the instances, at least 1', () => {
    const p: RateLimitPolicy = { name: 'p', limit: 600, windowSeconds: 60 };
    assert.equal(localShare(p, 1), p);
    assert.deepEqual(localShare(p, 4), { name: 'p', limit: 150, windowSeconds: 60 });
    assert.deepEqual(localShare({ ...p, limit: 5, burst: 3 }, 10), {
      name: 'p',
      limit: 1,
      windowSeconds: 60,
      burst: 1,
    });
  });
});
