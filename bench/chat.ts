import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { type AssertedIdentity, createAssertionSigner } from '../packages/kit/src/assertion.ts';
import {
  entitlementFields,
  entitlementKey,
  FREE_ENTITLEMENT,
} from '../packages/kit/src/contracts/entitlement.ts';
import { freePort, startPostgres, startRedis } from '../scripts/backends.ts';
import { type Child, spawnChild, waitForHttp } from './lib/child.ts';
import { cpuMs } from './lib/cpu.ts';
import { describeMachine } from './lib/machine.ts';

/**
 * `npm --prefix bench run chat`: the chat service's fan-out, two instances on
 * one Postgres and one Redis, on this machine. Clients connect to both
 * instances alternately (the direct path: no gateway in front), one channel
 * per `CHAT_BENCH_MEMBERS` clients; a sender posts `CHAT_BENCH_RATE` messages
 * a second through both instances for `CHAT_BENCH_SECONDS`. Reported:
 * send→deliver latency on every member's socket (p50, p99, max), messages
 * lost, CPU of the chat instances per delivered message, memory per connected
 * client, and history reads (`limit=50`) per second. Writes results/chat.json.
 *
 * The full figure is 5,000 clients in 50 channels of 100 and 500
 * messages/s through the gateway; on a 2-core machine shared with other work
 * the defaults are smaller (set the variables for the full run). Through the
 * gateway needs its WebSocket tunnel (branch ws); until then only the direct
 * path is measured.
 */
const CLIENTS = Number(process.env.CHAT_BENCH_CLIENTS ?? 1000);
const MEMBERS = Number(process.env.CHAT_BENCH_MEMBERS ?? 100);
const RATE = Number(process.env.CHAT_BENCH_RATE ?? 100);
const SECONDS = Number(process.env.CHAT_BENCH_SECONDS ?? 20);
const READ_SECONDS = Number(process.env.CHAT_BENCH_READ_SECONDS ?? 10);

const ROOT = join(import.meta.dirname, '..');
const secret = randomUUID() + randomUUID();
const sign = createAssertionSigner([{ kid: 'gw1', secret }]);
let requestNo = 0;

function headers(user: { sub: string; tid: string }, method: string, path: string): Record<string, string> {
  const requestId = `bench-${++requestNo}`;
  return {
    'x-request-id': requestId,
    'x-gateway-assertion': sign({ sub: user.sub, tid: user.tid, roles: ['member'] } as AssertedIdentity, {
      method,
      path: path.split('?')[0] as string,
      requestId,
    }),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-chat-bench-'));
  const redis = await startRedis();
  const postgres = await startPostgres();
  if (typeof redis === 'string' || typeof postgres === 'string') {
    throw new Error(`chat bench needs Redis and Postgres: ${typeof redis === 'string' ? redis : postgres}`);
  }
  const redisUrl = redis.env.GATEHOUSE_TEST_REDIS_URL as string;
  const databaseUrl = postgres.env.GATEHOUSE_TEST_POSTGRES_URL as string;
  const instances: { child: Child; url: string }[] = [];
  const sockets: WebSocket[] = [];
  try {
    for (const name of ['chat-a', 'chat-b']) {
      const port = await freePort();
      const child = spawnChild({
        name,
        command: process.execPath,
        args: [join(ROOT, 'packages/chat/src/main.ts')],
        logFile: join(dir, `${name}.log`),
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          LOG_LEVEL: 'warn',
          CHAT_PORT: String(port),
          DATABASE_URL: databaseUrl,
          REDIS_URL: redisUrl,
          GATEWAY_ASSERTION_SECRET: secret,
        },
      });
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/ready`, child, 60_000);
      instances.push({ child, url });
    }
    const pids = instances.map((i) => i.child.pid);
    const tid = randomUUID();
    // Premium (600 messages per user per minute), no quota: the limits are not what is measured.
    const admin = new Redis(redisUrl);
    await admin.hset(
      entitlementKey(tid),
      entitlementFields({ ...FREE_ENTITLEMENT, tier: 'premium', messageQuota: null }),
    );
    await admin.quit();

    const channels = Math.max(1, Math.floor(CLIENTS / MEMBERS));
    const users = Array.from({ length: channels * MEMBERS }, () => ({ sub: randomUUID(), tid }));
    const call = async <T>(
      at: number,
      user: { sub: string; tid: string },
      method: string,
      path: string,
      body?: unknown,
    ) => {
      const res = await fetch(`${instances[at % 2]?.url}${path}`, {
        method,
        headers: {
          ...headers(user, method, path),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    const channelIds: string[] = [];
    for (let c = 0; c < channels; c++) {
      const members = users.slice(c * MEMBERS, (c + 1) * MEMBERS);
      const created = await call<{ id: string }>(
        c,
        members[0] as (typeof users)[number],
        'POST',
        '/api/chat/conversations',
        {
          kind: 'private',
          name: `bench-${c}`,
          members: members.slice(1).map((m) => m.sub),
        },
      );
      channelIds.push(created.id);
    }

    const rssBefore = pids.map(rssKiB);
    const latencies: number[] = [];
    let delivered = 0;
    const sentAt = new Map<string, number>();
    await Promise.all(
      users.map(
        (user, i) =>
          new Promise<void>((resolve, reject) => {
            const base = (instances[i % 2] as { url: string }).url.replace('http', 'ws');
            const ws = new WebSocket(`${base}/api/chat/ws`, {
              headers: headers(user, 'GET', '/api/chat/ws'),
            });
            sockets.push(ws);
            ws.on('message', (data) => {
              const text = data.toString();
              if (text.startsWith('{"type":"ready"')) return resolve();
              if (!text.startsWith('{"type":"message.created"')) return;
              const event = JSON.parse(text) as { message: { body: string } };
              const sent = sentAt.get(event.message.body);
              if (sent !== undefined) {
                latencies.push(performance.now() - sent);
                delivered++;
              }
            });
            ws.on('error', reject);
          }),
      ),
    );
    await sleep(1000);
    const rssAfter = pids.map(rssKiB);

    // Open loop: one send every 1/RATE s, to both instances in turn, from members in turn.
    const cpuStart = cpuMs(pids);
    const total = RATE * SECONDS;
    const started = performance.now();
    let sendErrors = 0;
    const sends: Promise<unknown>[] = [];
    for (let n = 0; n < total; n++) {
      const due = started + (n * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const c = n % channels;
      const sender = users[c * MEMBERS + (Math.floor(n / channels) % MEMBERS)] as (typeof users)[number];
      const body = `bench ${n}`;
      sentAt.set(body, performance.now());
      sends.push(
        call(n, sender, 'POST', `/api/chat/conversations/${channelIds[c]}/messages`, { body }).catch(() => {
          sendErrors++;
        }),
      );
    }
    await Promise.all(sends);
    const sendSeconds = (performance.now() - started) / 1000;
    const expected = total * MEMBERS - sendErrors * MEMBERS;
    const until = Date.now() + 10_000;
    while (delivered < expected && Date.now() < until) await sleep(100);
    const cpuSend = cpuMs(pids) - cpuStart;

    // History reads: 16 concurrent readers, closed loop, through both instances.
    let reads = 0;
    const readUntil = performance.now() + READ_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: 16 }, async (_, r) => {
        while (performance.now() < readUntil) {
          const c = (r + reads) % channels;
          await call(
            r,
            users[c * MEMBERS] as (typeof users)[number],
            'GET',
            `/api/chat/conversations/${channelIds[c]}/messages?limit=50`,
          );
          reads++;
        }
      }),
    );

    latencies.sort((a, b) => a - b);
    const result = {
      machine: describeMachine(),
      path: 'direct (two chat instances, Postgres, Redis; no gateway)',
      clients: users.length,
      channels,
      members: MEMBERS,
      targetRate: RATE,
      achievedRate: Math.round((total / sendSeconds) * 10) / 10,
      seconds: SECONDS,
      sent: total - sendErrors,
      sendErrors,
      expectedDeliveries: expected,
      delivered,
      lost: expected - delivered,
      latencyMs: {
        p50: Math.round(percentile(latencies, 50) * 10) / 10,
        p99: Math.round(percentile(latencies, 99) * 10) / 10,
        max: Math.round((latencies.at(-1) ?? Number.NaN) * 10) / 10,
      },
      cpuMicrosPerDelivery: Math.round((cpuSend * 1000) / Math.max(1, delivered)),
      memoryKiBPerClient: Math.round(
        (rssAfter.reduce((a, b) => a + b, 0) - rssBefore.reduce((a, b) => a + b, 0)) / users.length,
      ),
      historyReadsPerSecond: Math.round(reads / READ_SECONDS),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(import.meta.dirname, 'results', 'chat.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const ws of sockets) ws.terminate();
    for (const i of instances) await i.child.stop();
    redis.stop();
    postgres.stop();
  }
}

await main();
