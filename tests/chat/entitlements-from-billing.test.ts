import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServiceCallSigner, entitlementPath, USAGE_REPORTS_PATH } from '@gatehouse/kit';
import { listenOnRandomPort, randomSecret } from '@gatehouse/kit/testing';
import { STARTUP } from '../../packages/chat/test/helpers.ts';
import {
  freshDatabase,
  gatewaySigner,
  type RunningChat,
  type RunningService,
  startBillingProcess,
  startChatProcess,
} from './process.ts';

/**
 * One machine without Redis (`npm start`): chat reads each tenant's plan from
 * billing's internal endpoint, so a plan bought in billing sets chat's limits.
 * Real chat and billing processes (Postgres when the test script runs one,
 * PGlite otherwise), plans bought through billing's API with its local
 * provider, HTTP between them; a proxy in front of billing spoils the answers
 * for chosen tenants.
 */

const postgresUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;
process.stdout.write(
  `\nchat entitlements ← billing, no Redis: billing on ${postgresUrl === undefined ? 'PGlite' : 'Postgres'}\n`,
);

type User = { sub: string; tid: string; roles?: string[] };
type Answer = { status: number; body: { id?: string; code?: string; detail?: string } };

/** More than the free plan's 30 a minute were accepted (premium allows 600). */
const ABOVE_FREE = 'above 30';

describe('chat without Redis applies the plan billing holds', STARTUP, () => {
  const secret = randomSecret();
  const sign = gatewaySigner(secret);
  const dirs: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  let billingDb: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  let billing: RunningService;
  let proxy: Awaited<ReturnType<typeof spoilingProxy>>;
  /** Reads billing directly. */
  let chat: RunningChat;
  /** Reads billing through the proxy. */
  let viaProxy: RunningChat;

  before(async () => {
    billingDb = postgresUrl === undefined ? undefined : await freshDatabase(postgresUrl);
    billing = await startBillingProcess({
      GATEWAY_ASSERTION_SECRET: secret,
      BILLING_DATA_DIR: tempDir('gh-ent-billing-'),
      ...(billingDb === undefined ? {} : { DATABASE_URL: billingDb.url }),
    });
    proxy = await spoilingProxy(billing.url);
    const chatEnv = (billingUrl: string) => ({
      GATEWAY_ASSERTION_SECRET: secret,
      CHAT_DB_MEMORY: 'true',
      CHAT_DATA_DIR: tempDir('gh-ent-chat-'),
      CHAT_BILLING_URL: billingUrl,
      CHAT_USAGE_FLUSH_MS: '200',
    });
    [chat, viaProxy] = await Promise.all([
      startChatProcess(chatEnv(billing.url)),
      startChatProcess(chatEnv(proxy.url)),
    ]);
  });
  after(async () => {
    await Promise.all([chat?.stop(), viaProxy?.stop()]);
    await proxy?.close();
    await billing?.stop();
    await billingDb?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function call(
    on: { url: string },
    user: User,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Answer> {
    const res = await fetch(`${on.url}${path}`, {
      method,
      headers: {
        ...sign(user, method, path),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  }

  /** The tenant buys `plan` through billing's API (its owner, the local provider). */
  async function subscribe(tid: string, plan: string): Promise<void> {
    const owner = { sub: randomUUID(), tid, roles: ['owner'] };
    const res = await call(billing, owner, 'POST', `/api/billing/tenants/${tid}/subscription`, { plan });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }

  /** A new member of `tid` in a conversation of their own on `on`; `send()` posts one message. */
  async function sender(on: RunningChat, tid: string) {
    const user = { sub: randomUUID(), tid };
    const made = await call(on, user, 'POST', '/api/chat/conversations', {
      kind: 'private',
      name: `plan ${user.sub}`,
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const path = `/api/chat/conversations/${made.body.id}/messages`;
    return { send: () => call(on, user, 'POST', path, { body: 'hello' }) };
  }

  /**
   * The per-minute limit chat applies to `tid` now: a new member sends 31
   * messages inside one minute window. A refusal names the plan's limit (the
   * free plan's: 30); 31 accepted is `ABOVE_FREE`. A burst that crossed into
   * the next window proves nothing and is sent again.
   */
  async function perMinute(on: RunningChat, tid: string): Promise<number | typeof ABOVE_FREE> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const user = await sender(on, tid);
      const window = Math.floor(Date.now() / 60_000);
      for (let i = 0; i <= 30; i++) {
        const res = await user.send();
        if (res.status === 429) {
          assert.equal(res.body.code, 'CHAT_RATE_LIMITED', JSON.stringify(res.body));
          return Number(/at most (\d+) messages per minute/.exec(String(res.body.detail))?.[1]);
        }
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      if (Math.floor(Date.now() / 60_000) === window) return ABOVE_FREE;
    }
    assert.fail('every burst crossed a minute boundary');
  }

  async function until<V>(what: string, read: () => Promise<V>, done: (v: V) => boolean): Promise<V> {
    const started = Date.now();
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() - started > 60_000) assert.fail(`${what}: still ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('an upgrade bought in billing raises chat’s per-minute limit to premium’s within the cache time', async (t) => {
    assert.ok(
      chat.lines.some((l) => String(l.msg).startsWith("entitlements: read from billing's internal API")),
      'the start-up log says where plans come from',
    );
    const tid = randomUUID();
    assert.equal(await perMinute(chat, tid), 30, 'a tenant without a subscription is on the free plan');
    await subscribe(tid, 'premium');
    const upgraded = Date.now();
    await until(
      'premium applied',
      () => perMinute(chat, tid),
      (limit) => limit === ABOVE_FREE,
    );
    t.diagnostic(
      `premium applied in chat ${Date.now() - upgraded} ms after the upgrade (records cached 5 s)`,
    );
    // A tenant bought premium before chat ever read it: premium from its first send.
    const bought = randomUUID();
    await subscribe(bought, 'premium');
    assert.equal(await perMinute(chat, bought), ABOVE_FREE);
  });

  it('a failing or malformed answer from billing means the free plan, never no limits', async () => {
    const [failing, malformed] = [randomUUID(), randomUUID()];
    // Billing holds premium for both: unlimited messages, 600 a minute.
    await Promise.all([subscribe(failing, 'premium'), subscribe(malformed, 'premium')]);
    proxy.spoil(failing, 500, { code: 'BILL_INTERNAL' });
    proxy.spoil(malformed, 200, { tenantId: malformed, tier: ['premium'], messageQuota: 'unlimited' });
    assert.equal(await perMinute(viaProxy, failing), 30);
    assert.equal(await perMinute(viaProxy, malformed), 30);

    // The free plan's quota, not premium's none: at 10,000 messages in billing's count, a send is refused.
    const signer = createServiceCallSigner([{ kid: 'gw1', secret }], 'chat');
    const reported = await fetch(`${billing.url}${USAGE_REPORTS_PATH}`, {
      method: 'POST',
      headers: {
        ...signer('POST', USAGE_REPORTS_PATH),
        'content-type': 'application/json',
        'idempotency-key': `another-instance:${randomUUID()}:1`,
      },
      body: JSON.stringify({ reports: [{ tenantId: malformed, messages: 10_000 }] }),
    });
    assert.equal(reported.status, 200);
    const user = await sender(viaProxy, malformed);
    // Chat learns billing's count with its next counted batch or read: a send or two may pass first.
    const refused = await until(
      'refused for the quota',
      () => user.send(),
      (res) => res.status !== 201,
    );
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'CHAT_QUOTA_EXCEEDED', JSON.stringify(refused.body));
    assert.match(String(refused.body.detail), /allows 10000 messages/);
    assert.ok(proxy.asked.has(failing) && proxy.asked.has(malformed), 'chat asked the proxy');
  });

  it('billing down: the last record stands and sends go on; a tenant never read gets the free plan', async () => {
    const tid = randomUUID();
    await subscribe(tid, 'premium');
    assert.equal(await perMinute(chat, tid), ABOVE_FREE);

    await billing.kill();
    // Once the cached record is older than 5 s chat asks billing again, fails, and keeps premium.
    const user = await sender(chat, tid);
    const failedRead = (l: Record<string, unknown>) =>
      l.msg === 'entitlement read failed; the last record stands (none: the free plan)' && l.tenantId === tid;
    const line = await until(
      'chat tried billing',
      async () => {
        const res = await user.send();
        assert.equal(res.status, 201, JSON.stringify(res.body));
        return chat.lines.find(failedRead);
      },
      (found) => found !== undefined,
    );
    assert.deepEqual([line?.tier, line?.lastRecord], ['premium', true]);
    assert.equal(await perMinute(chat, tid), ABOVE_FREE);
    assert.equal(await perMinute(chat, randomUUID()), 30);
  });
});

/** Forwards to billing, except the entitlement reads of tenants it was told to spoil. */
async function spoilingProxy(target: string) {
  const answers = new Map<string, { status: number; body: unknown }>();
  const asked = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      for (const [tenantId, answer] of answers)
        if (req.url === entitlementPath(tenantId)) {
          asked.add(tenantId);
          res
            .writeHead(answer.status, { 'content-type': 'application/json' })
            .end(JSON.stringify(answer.body));
          return;
        }
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          (e): e is [string, string] => typeof e[1] === 'string' && !['host', 'connection'].includes(e[0]),
        ),
      );
      try {
        const upstream = await fetch(`${target}${req.url}`, {
          method: req.method,
          headers,
          ...(chunks.length === 0 ? {} : { body: Buffer.concat(chunks) }),
        });
        const body = Buffer.from(await upstream.arrayBuffer());
        res.writeHead(upstream.status, Object.fromEntries(upstream.headers)).end(body);
      } catch {
        req.socket.destroy();
      }
    });
  });
  const url = await listenOnRandomPort(server);
  return {
    url,
    /** Tenants whose spoilt answer chat asked for. */
    asked,
    spoil(tenantId: string, status: number, body: unknown): void {
      answers.set(tenantId, { status, body });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
