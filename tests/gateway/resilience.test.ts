import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { freePort } from '../../scripts/backends.ts';
import { startGateway, token, upstream } from './process.ts';

/**
 * The gateway as a real process under load: a graceful shutdown that fails no
 * request, two instances sharing one Redis for exact limits, and Redis
 * stopped and restarted under load.
 */

const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
const NO_REDIS =
  redisServer === undefined
    ? 'SKIPPED: redis-server is not installed (apt-get install -y redis-server)'
    : false;

async function startRedis(): Promise<{
  url: string;
  port: number;
  stop: () => void;
  start: () => Promise<void>;
}> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      redisServer as string,
      ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    const end = Date.now() + 5_000;
    while (Date.now() < end) {
      try {
        execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.fail('redis-server did not start');
  };
  const stop = () => child?.kill('SIGKILL');
  await start();
  after(stop);
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}

describe('gateway under load', () => {
  it('shuts down gracefully under steady load: zero failed requests, exit code 0', async () => {
    const up = await upstream();
    const gw = await startGateway(
      'drain',
      up.url,
      'limits: { shutdownDrainDelayMs: 1000 }\nrateLimits: { tiers: { free: { limit: 1000000, windowSeconds: 60 } } }',
    );
    const auth = { authorization: `Bearer ${await token('load-user')}` };
    const dispatcher = new Agent({ connections: 20 });
    after(() => dispatcher.close());
    let balancerSendsTraffic = true;
    let ok = 0;
    const failures: string[] = [];
    // Like a load balancer: stop sending new requests once /ready says 503.
    const watcher = (async () => {
      while (balancerSendsTraffic) {
        const ready = await fetch(`${gw.url}/ready`).then(
          (r) => r.status,
          () => 0,
        );
        if (ready !== 200) balancerSendsTraffic = false;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const client = async () => {
      while (balancerSendsTraffic) {
        try {
          const res = await request(`${gw.url}/api/work`, { headers: auth, dispatcher });
          await res.body.text();
          if (res.statusCode === 200) ok++;
          else failures.push(String(res.statusCode));
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const clients = Array.from({ length: 20 }, client);
    // SIGTERM once the load is flowing (100 answers), however slow the machine: a fixed delay
    // measured the machine's speed, not the drain.
    const flowing = Date.now() + 30_000;
    while (ok < 100 && failures.length === 0 && Date.now() < flowing)
      await new Promise((r) => setTimeout(r, 20));
    gw.child.kill('SIGTERM');
    await Promise.all([...clients, watcher]);
    assert.equal(await gw.exited, 0, gw.output().slice(-1500));
    assert.deepEqual(failures, []);
    assert.ok(ok >= 100, `served ${ok} requests`);
  });

  it('lets at most the limit through two instances sharing one Redis (500 parallel requests, limit 100)', {
    skip: NO_REDIS,
  }, async () => {
    const redis = await startRedis();
    const up = await upstream();
    // Exactness with a healthy Redis: a budget that CPU contention from parallel test files cannot
    // exhaust (past the budget the local fallback decides by design; that is tested below).
    const limits = `rateLimits:
  redisUrl: ${redis.url}
  instances: 2
  budgetMs: 2000
  tiers: { free: { limit: 100, windowSeconds: 3600 } }`;
    const [a, b] = await Promise.all([
      startGateway('rl-a', up.url, limits),
      startGateway('rl-b', up.url, limits),
    ]);
    const auth = { authorization: `Bearer ${await token('same-user')}` };
    const dispatcher = new Agent({ connections: 128 });
    after(() => dispatcher.close());
    const statuses = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        request(`${(i % 2 === 0 ? a : b).url}/api/x`, { headers: auth, dispatcher }).then(async (r) => {
          await r.body.dump();
          return r.statusCode;
        }),
      ),
    );
    const passed = statuses.filter((s) => s === 200).length;
    assert.equal(passed, 100, `let ${passed} through`);
    assert.equal(statuses.filter((s) => s === 429).length, 400);
  });

  it('keeps limiting (never unlimited, never a 500) while Redis is down, and recovers when it returns', {
    skip: NO_REDIS,
  }, async () => {
    const redis = await startRedis();
    const up = await upstream();
    const gw = await startGateway(
      'rl-down',
      up.url,
      `rateLimits:
  redisUrl: ${redis.url}
  instances: 2
  tiers: { free: { limit: 40, windowSeconds: 3600 } }`,
    );
    const dispatcher = new Agent({ connections: 16 });
    after(() => dispatcher.close());
    const auth = { authorization: `Bearer ${await token('while-down')}` };
    const burst = async (n: number) => {
      const statuses = await Promise.all(
        Array.from({ length: n }, () =>
          request(`${gw.url}/api/x`, { headers: auth, dispatcher }).then(async (r) => {
            await r.body.dump();
            return r.statusCode;
          }),
        ),
      );
      return {
        ok: statuses.filter((s) => s === 200).length,
        limited: statuses.filter((s) => s === 429).length,
        other: statuses.filter((s) => s !== 200 && s !== 429),
      };
    };
    assert.deepEqual((await burst(10)).other, []);
    redis.stop();
    await new Promise((r) => setTimeout(r, 300));
    const down = await burst(60);
    assert.deepEqual(down.other, [], 'no 500s while Redis is down');
    assert.ok(down.ok <= 20, `local fallback allows at most limit/instances = 20, let ${down.ok} through`);
    assert.ok(down.limited >= 40);
    const ready = await fetch(`${gw.adminUrl}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { status: string }).status, 'degraded');
    await redis.start();
    const end = Date.now() + 10_000;
    let status = 'degraded';
    while (Date.now() < end && status !== 'ready') {
      await burst(1);
      status = ((await (await fetch(`${gw.adminUrl}/ready`)).json()) as { status: string }).status;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 'ready', 'reconnected by itself');
  });
});
