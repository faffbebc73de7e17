import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from '../../../../scripts/backends.ts';
import { type DegradedReason, RedisRateLimiter } from './redis.ts';
import type { RateLimitDecision, RateLimitPolicy } from './types.ts';

/**
 * What happens when Redis dies, stalls and comes back — on a redis-server of
 * this file's own (it is stopped and restarted, which the shared one must not
 * be). A check must then never throw, never wait much past its budget, decide
 * locally at limit / instances with `degraded: true`, and the limiter must
 * recover by itself.
 */

function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

const binary = which('redis-server');
/** DEBUG (for DEBUG SLEEP) is off by default from Redis 7, and the switch is unknown before it. */
const debugFlag =
  binary !== undefined &&
  Number(/v=(\d+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1]) >= 7
    ? ['--enable-debug-command', 'yes']
    : [];
const skip =
  binary === undefined ? 'SKIPPED: redis-server not installed (apt-get install -y redis-server)' : false;

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The budget here is larger than the 50 ms default so a busy CI machine (test files run in
 * parallel) cannot make a healthy Redis look slow; the code path is the same.
 */
const BUDGET_MS = 200;
/** Generous upper bound for one check: catches a hang (waiting for Redis), not a slow machine. */
const HANG_MS = 2_000;

async function timed(work: Promise<RateLimitDecision>): Promise<RateLimitDecision> {
  const started = performance.now();
  const decision = await work;
  const ms = performance.now() - started;
  assert.ok(ms < HANG_MS, `a check took ${Math.round(ms)} ms with a ${BUDGET_MS} ms budget`);
  return decision;
}

describe('RedisRateLimiter when Redis fails', { timeout: 60_000 }, () => {
  let port: number;
  let dir: string;
  let server: ChildProcess | undefined;
  const limiters: RedisRateLimiter[] = [];
  // Every connection a test opens is closed in after(), even when the test failed half-way:
  // one left open would keep this file's process alive for ever.
  const clients: Redis[] = [];

  function client(): Redis {
    const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    clients.push(c);
    return c;
  }

  async function startServer(): Promise<void> {
    server = spawn(
      binary as string,
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ...['--dir', dir, ...debugFlag],
      ],
      { stdio: 'ignore' },
    );
    await until('redis-server to answer', async () => {
      const probe = new Redis(port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on('error', () => {});
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    });
  }

  async function stopServer(): Promise<void> {
    const child = server;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL'); // like a crash: no goodbye to the clients
    await exited;
    server = undefined;
  }

  function limiter(options: { instances?: number; onDegraded?: (reason: DegradedReason) => void } = {}) {
    const l = new RedisRateLimiter({ url: `redis://127.0.0.1:${port}`, budgetMs: BUDGET_MS, ...options });
    limiters.push(l);
    return l;
  }

  before(async () => {
    if (skip) return;
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-rl-redis-'));
    await startServer();
  });

  after(async () => {
    if (skip) return;
    await Promise.all(limiters.map((l) => l.close()));
    for (const c of clients) c.disconnect();
    await stopServer();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the script again after SCRIPT FLUSH (NOSCRIPT) without degrading', { skip }, async () => {
    const l = limiter();
    assert.equal(await l.ready(), true);
    const policy: RateLimitPolicy = { name: 'noscript', limit: 3, windowSeconds: 3_600 };
    assert.equal((await l.check('k', policy)).degraded, false);
    await client().script('FLUSH');
    const decisions = [await l.check('k', policy), await l.check('k', policy), await l.check('k', policy)];
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.degraded]),
      [
        [true, false],
        [true, false],
        [false, false],
      ],
    );
  });

  it('falls back to limit / instances while Redis is down, then recovers by itself', { skip }, async () => {
    const reasons: DegradedReason[] = [];
    const l = limiter({ instances: 2, onDegraded: (reason) => reasons.push(reason) });
    assert.equal(await l.ready(), true);
    const policy: RateLimitPolicy = { name: 'down', limit: 10, windowSeconds: 3_600 };
    assert.equal((await l.check('user', policy)).degraded, false);

    await stopServer();
    await until('the client to notice', () => l.status().degraded || reasons.length > 0, 5_000).catch(
      () => {},
    );
    const during: RateLimitDecision[] = [];
    for (let i = 0; i < 8; i++) during.push(await timed(l.check('user', policy)));
    assert.ok(
      during.every((d) => d.degraded),
      'every decision while Redis is down is degraded',
    );
    // The local share: 10 / 2 instances = 5 — never unlimited.
    assert.equal(during.filter((d) => d.allowed).length, 5);
    assert.equal(during[0]?.limit, 5);
    assert.equal(during[0]?.policy.name, 'down');
    assert.equal(during.at(-1)?.allowed, false);
    assert.ok((during.at(-1)?.retryAfterSeconds ?? 0) >= 1);
    assert.ok(reasons.length >= 8);
    assert.ok(
      reasons.every((r) => r === 'disconnected' || r === 'error'),
      reasons.join(),
    );
    const status = l.status();
    assert.equal(status.degraded, true);
    assert.equal(status.keys, 1);

    await startServer();
    await until('the limiter to reconnect', async () => !(await l.check('other', policy)).degraded);
    assert.equal(l.status().degraded, false);
    // Redis restarted empty (no persistence): the shared count starts afresh.
    const back = await l.check('user', policy);
    assert.equal(back.degraded, false);
    assert.equal(back.limit, 10);
  });

  it('decides locally when Redis is slower than the budget, probing with one call at a time', {
    skip,
  }, async () => {
    const reasons: DegradedReason[] = [];
    const l = limiter({ onDegraded: (reason) => reasons.push(reason) });
    assert.equal(await l.ready(), true);
    const policy: RateLimitPolicy = { name: 'slow', limit: 100, windowSeconds: 3_600 };
    assert.equal((await l.check('k', policy)).degraded, false);

    const admin = client();
    const statsBefore = await evalCalls(admin);
    const sleeper = client();
    const pinger = client();
    await Promise.all([sleeper.ping(), pinger.ping()]); // both connected before Redis stalls
    const sleeping = sleeper.call('DEBUG', 'SLEEP', '3');
    // Wait until Redis is really asleep: a PING on another connection goes unanswered.
    await until('Redis to stall', async () => {
      const answered = await Promise.race([
        pinger.ping().then(() => true),
        new Promise<boolean>((r) => setTimeout(r, 100, false)),
      ]);
      return !answered;
    });

    const first = await timed(l.check('k', policy));
    assert.equal(first.degraded, true);
    assert.equal(first.allowed, true);
    assert.deepEqual(reasons, ['timeout']);
    assert.match(l.status().lastError ?? '', new RegExp(`no answer within ${BUDGET_MS} ms`));

    // Degraded now: of 20 concurrent checks one probes Redis, the others decide at once.
    const burst = await Promise.all(Array.from({ length: 20 }, () => timed(l.check('k', policy))));
    assert.ok(burst.every((d) => d.degraded && d.allowed));

    await sleeping;
    // Redis saw the first check and one probe for the burst of 20, no more.
    await until('the queued scripts to run', async () => (await evalCalls(admin)) - statsBefore >= 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await evalCalls(admin)) - statsBefore, 2);

    await until('the limiter to recover', async () => !(await l.check('k', policy)).degraded);
    assert.equal(l.status().degraded, false);
  });

  it('starts degraded (not failing) when Redis is unreachable from the start', { skip }, async () => {
    const deadPort = await freePort();
    const l = new RedisRateLimiter({ url: `redis://127.0.0.1:${deadPort}`, instances: 3 });
    limiters.push(l);
    assert.equal(await l.ready(200), false);
    const policy: RateLimitPolicy = { name: 'never', limit: 6, windowSeconds: 60 };
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await timed(l.check('k', policy)));
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.degraded]),
      [
        [true, true],
        [true, true],
        [false, true],
      ],
    );
    assert.equal(l.status().degraded, true);
    assert.notEqual(l.status().lastError, null);
  });
});

/** How many scripts Redis has run (EVALSHA + EVAL), from INFO commandstats. */
async function evalCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) total += Number(match[1]);
  return total;
}
