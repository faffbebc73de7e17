import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServiceCallSigner, USAGE_REPORTS_PATH } from '@gatehouse/kit';
import { listenOnRandomPort, randomSecret } from '@gatehouse/kit/testing';
import { STARTUP } from '../../packages/chat/test/helpers.ts';
import { freePort } from '../../scripts/backends.ts';
import {
  freshDatabase,
  gatewaySigner,
  type RunningChat,
  type RunningService,
  startBillingProcess,
  startChatProcess,
} from './process.ts';

/**
 * Chat reports the messages it stores to billing: real chat processes, a real
 * billing process (Postgres when the test script runs one, PGlite files
 * otherwise, so a restarted billing keeps its counts), HTTP between them.
 * Billing's usage shows exactly what was sent, per tenant, through billing
 * outages, lost answers and shutdowns.
 */

const postgresUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;
process.stdout.write(
  `\nchat usage → billing: billing on ${postgresUrl === undefined ? 'PGlite' : 'Postgres'}\n`,
);

type User = { sub: string; tid: string };

describe('chat reports messages per tenant to billing', STARTUP, () => {
  const secret = randomSecret();
  const sign = gatewaySigner(secret);
  const billingDir = mkdtempSync(join(tmpdir(), 'gh-usage-billing-'));
  let billingDb: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  let billingEnv: Record<string, string>;
  let billing: RunningService;
  let billingUrl: string;
  /** The chat instance most scenarios send through. */
  let chat: RunningChat;
  const chats: RunningChat[] = [];

  async function startChat(extra: Record<string, string> = {}): Promise<RunningChat> {
    const started = await startChatProcess({
      GATEWAY_ASSERTION_SECRET: secret,
      CHAT_DB_MEMORY: 'true',
      CHAT_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-usage-chat-')),
      CHAT_BILLING_URL: billingUrl,
      CHAT_USAGE_FLUSH_MS: '200',
      ...extra,
    });
    chats.push(started);
    return started;
  }

  before(async () => {
    billingDb = postgresUrl === undefined ? undefined : await freshDatabase(postgresUrl);
    // A port of its own, so billing comes back at the same address after an outage.
    billingEnv = {
      GATEWAY_ASSERTION_SECRET: secret,
      BILLING_PORT: String(await freePort()),
      BILLING_DATA_DIR: billingDir,
      ...(billingDb === undefined ? {} : { DATABASE_URL: billingDb.url }),
    };
    billing = await startBillingProcess(billingEnv);
    billingUrl = billing.url;
    chat = await startChat();
  });
  after(async () => {
    await Promise.all(chats.map((c) => c.stop()));
    await billing?.stop();
    await billingDb?.drop();
    rmSync(billingDir, { recursive: true, force: true });
  });

  async function call<T>(on: { url: string }, user: User, method: string, path: string, body?: unknown) {
    const res = await fetch(`${on.url}${path}`, {
      method,
      headers: {
        ...sign(user, method, path),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as T };
  }

  /** A conversation of a new user in `tid` on `chat`; `send(n)` stores n messages (each 201). */
  async function sender(on: RunningChat, tid: string) {
    const user = { sub: randomUUID(), tid };
    const made = await call<{ id: string }>(on, user, 'POST', '/api/chat/conversations', {
      kind: 'public',
      name: 'usage',
    });
    assert.equal(made.status, 201);
    const path = `/api/chat/conversations/${made.body.id}/messages`;
    return {
      async send(n: number) {
        for (let i = 0; i < n; i++) {
          const res = await call(on, user, 'POST', path, { body: `message ${i}` });
          assert.equal(res.status, 201, JSON.stringify(res.body));
        }
      },
      try: () => call<{ code?: string }>(on, user, 'POST', path, { body: 'one more' }),
    };
  }

  /** The tenant's usage as its members see it (what the web app shows). */
  async function usage(tid: string) {
    const res = await call<{ messages: number; periodEnd: string }>(
      { url: billingUrl },
      { sub: randomUUID(), tid },
      'GET',
      `/api/billing/tenants/${tid}/usage`,
    );
    assert.equal(res.status, 200);
    return res.body;
  }

  async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
    const started = Date.now();
    for (;;) {
      const value = await read().catch(() => undefined);
      if (value !== undefined && done(value)) return value;
      if (Date.now() - started > 90_000) assert.fail(`${what}: still ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function metric(on: RunningChat, series: string): Promise<number> {
    const text = await (await fetch(`${on.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return Number(line?.split(' ')[1] ?? 0);
  }

  /** Everything this chat accepted was counted by billing: nothing waiting, nothing in flight. */
  const settled = (on: RunningChat) =>
    until(
      'chat has no unreported messages',
      () => metric(on, 'chat_usage_messages_unreported'),
      (n) => n === 0,
    );

  it('messages sent through chat appear in billing’s usage: exact per tenant, other tenants untouched', async () => {
    assert.ok(chat.lines.some((l) => String(l.msg).startsWith('usage reporting: on')));
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await (await sender(chat, a)).send(7);
    await (await sender(chat, b)).send(3);
    await until(
      'tenant a counted',
      () => usage(a),
      (u) => u.messages >= 7,
    );
    await settled(chat);
    assert.equal((await usage(a)).messages, 7);
    assert.equal((await usage(b)).messages, 3);
    assert.equal((await usage(c)).messages, 0);
    assert.equal(await metric(chat, 'chat_usage_messages_reported_total'), 10);
  });

  it('two chat instances report their own counts; billing adds them', async () => {
    const other = await startChat();
    const tid = randomUUID();
    await Promise.all([(await sender(chat, tid)).send(4), (await sender(other, tid)).send(5)]);
    await Promise.all([settled(chat), settled(other)]);
    assert.equal((await usage(tid)).messages, 9);
  });

  it('billing down then up: sends go on, the counts arrive once, nothing lost or doubled', async () => {
    const tid = randomUUID();
    const user = await sender(chat, tid);
    await user.send(2);
    await settled(chat);
    const retriedBefore = await metric(chat, 'chat_usage_batches_total{outcome="retry"}');

    await billing.kill();
    // Billing's outage never blocks chat: every send is stored and answered 201.
    await user.send(6);
    await until(
      'chat retrying',
      () => metric(chat, 'chat_usage_batches_total{outcome="retry"}'),
      (n) => n > retriedBefore,
    );
    assert.equal(await metric(chat, 'chat_usage_messages_unreported'), 6);

    billing = await startBillingProcess(billingEnv);
    assert.equal(billing.url, billingUrl);
    await until(
      'the kept counts arrive',
      () => usage(tid),
      (u) => u.messages >= 8,
    );
    await settled(chat);
    assert.equal((await usage(tid)).messages, 8);
    // The log line may trail the answer through the process's stdout.
    await until(
      'the recovery logged',
      async () =>
        chat.lines.some((l) => l.msg === 'usage reports: billing takes reports again; nothing was lost'),
      (logged) => logged,
    );
  });

  it('an answer lost after billing counted: the batch sent again under its key is not counted twice', async () => {
    const proxy = await answerLosingProxy(billingUrl, 2);
    try {
      const behind = await startChat({ CHAT_BILLING_URL: proxy.url });
      const tid = randomUUID();
      await (await sender(behind, tid)).send(5);
      await until(
        'the batch through',
        async () => proxy.keys.length,
        (n) => n >= 3,
      );
      await settled(behind);
      assert.equal((await usage(tid)).messages, 5);
      // The batch whose answers were lost was sent three times, under one key.
      assert.equal(new Set(proxy.keys.slice(0, 3)).size, 1, proxy.keys.join(', '));
    } finally {
      await proxy.close();
    }
  });

  it('SIGTERM: chat hands billing what it has not reported yet before it exits', async () => {
    // A flush interval longer than the test: only the shutdown can send these.
    const leaving = await startChat({ CHAT_USAGE_FLUSH_MS: '60000' });
    const tid = randomUUID();
    await (await sender(leaving, tid)).send(3);
    assert.equal((await usage(tid)).messages, 0);
    assert.equal(await leaving.terminate(), 0);
    assert.equal((await usage(tid)).messages, 3);
    assert.ok(leaving.lines.some((l) => l.msg === 'usage reports: everything handed to billing'));
  });

  it('the quota is checked against billing’s count, which other instances fill too', async () => {
    const tid = randomUUID();
    // Another instance reported the free plan's 10,000 messages for this tenant.
    const signer = createServiceCallSigner([{ kid: 'gw1', secret }], 'chat');
    const reported = await fetch(`${billingUrl}${USAGE_REPORTS_PATH}`, {
      method: 'POST',
      headers: {
        ...signer('POST', USAGE_REPORTS_PATH),
        'content-type': 'application/json',
        'idempotency-key': `other-instance:${randomUUID()}:1`,
      },
      body: JSON.stringify({ reports: [{ tenantId: tid, messages: 10_000 }] }),
    });
    assert.equal(reported.status, 200);
    const user = await sender(chat, tid);
    // The first send may pass if billing's figure is not read within its budget on a busy machine.
    let refused: Awaited<ReturnType<typeof user.try>> | undefined;
    for (let i = 0; i < 5 && refused === undefined; i++) {
      const res = await user.try();
      if (res.status === 429) refused = res;
      else assert.equal(res.status, 201);
    }
    assert.ok(refused, 'never refused');
    assert.equal(refused.body.code, 'CHAT_QUOTA_EXCEEDED');
    // Until billing's period ends.
    const periodEnd = Date.parse((await usage(tid)).periodEnd);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Math.abs(Date.now() + retryAfter * 1000 - periodEnd) < 120_000, `retry-after ${retryAfter}`);
  });
});

/** Forwards to billing; the first `lose` usage reports reach billing, but their answers never come back. */
async function answerLosingProxy(target: string, lose: number) {
  const keys: string[] = [];
  let lost = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          (e): e is [string, string] => typeof e[1] === 'string' && !['host', 'connection'].includes(e[0]),
        ),
      );
      if (req.url === USAGE_REPORTS_PATH) keys.push(String(req.headers['idempotency-key']));
      const upstream = await fetch(`${target}${req.url}`, {
        method: req.method,
        headers,
        ...(chunks.length === 0 ? {} : { body: Buffer.concat(chunks) }),
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (req.url === USAGE_REPORTS_PATH && upstream.status === 200 && lost < lose) {
        lost++;
        req.socket.destroy();
        return;
      }
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers)).end(body);
    });
  });
  const url = await listenOnRandomPort(server);
  return {
    url,
    keys,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
