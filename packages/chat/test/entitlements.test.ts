import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAssertionVerifier, type EntitlementRecord, FREE_ENTITLEMENT } from '@gatehouse/kit';
import { captureLogger, listenOnRandomPort, randomSecret } from '@gatehouse/kit/testing';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { billingEntitlements } from '../src/domain/billing-entitlements.ts';
import { type EntitlementSource, memoryCounter, RECORD_TTL_MS, SendLimits } from '../src/domain/limits.ts';

/**
 * Where chat's send limits come from, and what happens when the source fails:
 * the last record stands, none means the free plan, never no limits; a send
 * waits for billing's HTTP API at most its budget.
 */

const PREMIUM: EntitlementRecord = {
  tier: 'premium',
  seats: 250,
  messageQuota: null,
  quotaPeriodDays: 30,
  historyRetentionDays: null,
  features: ['search'],
};

function limitsOver(
  source: EntitlementSource,
  options: { recordTtlMs?: number; readBudgetMs?: number } = {},
) {
  let now = 1_000_000;
  const log = captureLogger('chat', 'info');
  const limits = new SendLimits({
    source,
    counter: memoryCounter(),
    quota: { use: async () => ({ used: 0 }), accepted() {} },
    logger: log.logger,
    now: () => now,
    ...options,
  });
  return { limits, log, advance: (ms: number) => (now += ms) };
}

/** A source whose answers the test hands out one by one; `reads` counts the calls. */
function scriptedSource() {
  const pending: {
    tenantId: string;
    resolve: (r: EntitlementRecord | undefined) => void;
    reject: (e: Error) => void;
  }[] = [];
  const source: EntitlementSource = {
    read: (tenantId) => new Promise((resolve, reject) => pending.push({ tenantId, resolve, reject })),
  };
  return { source, pending };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('send limits: the entitlement record', () => {
  it('a failed read keeps the last record; without one it is the free plan, never no limits', async () => {
    let answer: () => Promise<EntitlementRecord | undefined> = async () => {
      throw new Error('billing down');
    };
    const { limits, log, advance } = limitsOver({ read: () => answer() }, { recordTtlMs: 5_000 });
    const free = await limits.entitlement('t1');
    assert.deepEqual(free, FREE_ENTITLEMENT);
    assert.equal(free.messageQuota, 10_000);
    assert.ok(
      log.lines.some(
        (l) =>
          l.msg === 'entitlement read failed; the last record stands (none: the free plan)' &&
          l.tenantId === 't1' &&
          l.lastRecord === false,
      ),
    );

    answer = async () => PREMIUM;
    assert.deepEqual(await limits.entitlement('t1'), FREE_ENTITLEMENT, 'the failure is kept for the TTL');
    advance(5_001);
    assert.deepEqual(await limits.entitlement('t1'), PREMIUM);

    answer = async () => {
      throw new Error('billing down');
    };
    advance(5_001);
    assert.deepEqual(await limits.entitlement('t1'), PREMIUM, 'the last record stands');
    assert.ok(log.lines.some((l) => l.tenantId === 't1' && l.lastRecord === true && l.tier === 'premium'));
    limits.invalidate('t1');
    assert.deepEqual(await limits.entitlement('t1'), PREMIUM, 'after an announcement too');
  });

  it('a record is read again after its TTL: the TTL is how long a plan change takes without an announcement', async () => {
    let record: EntitlementRecord | undefined;
    const { limits, advance } = limitsOver(
      { read: async () => record },
      { recordTtlMs: RECORD_TTL_MS.polled },
    );
    assert.equal((await limits.entitlement('t1')).tier, 'free');
    record = PREMIUM;
    advance(RECORD_TTL_MS.polled - 1);
    assert.equal((await limits.entitlement('t1')).tier, 'free');
    advance(2);
    assert.equal((await limits.entitlement('t1')).tier, 'premium');
  });

  it('a send waits at most the read budget; the late answer fills the cache; one read per tenant at a time', async () => {
    const { source, pending } = scriptedSource();
    const { limits } = limitsOver(source, { readBudgetMs: 30 });
    const started = Date.now();
    const [a, b] = await Promise.all([limits.entitlement('t1'), limits.entitlement('t1')]);
    assert.deepEqual([a.tier, b.tier], ['free', 'free']);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(pending.length, 1, 'one read for both sends');
    pending[0]?.resolve(PREMIUM);
    await tick();
    assert.deepEqual(await limits.entitlement('t1'), PREMIUM);
    assert.equal(pending.length, 1, 'served from the cache');
  });

  it('a change announced while a read runs: that read’s answer is not kept', async () => {
    const { source, pending } = scriptedSource();
    const { limits } = limitsOver(source);
    const first = limits.entitlement('t1');
    limits.invalidate('t1');
    const second = limits.entitlement('t1');
    assert.equal(pending.length, 2, 'the announcement starts a new read');
    pending[0]?.resolve(undefined);
    pending[1]?.resolve(PREMIUM);
    assert.equal((await first).tier, 'free');
    assert.equal((await second).tier, 'premium');
    assert.equal((await limits.entitlement('t1')).tier, 'premium');
    assert.equal(pending.length, 2);
  });
});

describe("billing's entitlement endpoint as chat reads it", () => {
  const secret = randomSecret();
  const keys = [{ kid: 'gw1', secret }];
  const verify = createAssertionVerifier(keys);
  let handle: (req: IncomingMessage, res: ServerResponse) => void = () => {};
  const seen: { path: string; caller: string | undefined }[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    const verified = verify(req.headers['x-gateway-assertion'], {
      method: 'GET',
      path,
      requestId: String(req.headers['x-request-id'] ?? ''),
    });
    seen.push({ path, caller: verified.ok ? verified.identity.sub : undefined });
    handle(req, res);
  });
  after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );

  const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  it('reads the tenant’s record, signed as the platform service chat; anything else throws', async () => {
    const url = await listenOnRandomPort(server);
    const source = billingEntitlements({ url, assertionKeys: keys, timeoutMs: 300 });
    const tenant = randomUUID();

    handle = json(200, { ...PREMIUM, tenantId: tenant, plan: 'premium', status: 'active', version: 2 });
    assert.deepEqual(await source.read(tenant), PREMIUM);
    assert.deepEqual(seen.at(-1), { path: `/internal/entitlements/${tenant}`, caller: 'service:chat' });

    const refusals: [string, (req: IncomingMessage, res: ServerResponse) => void][] = [
      ['a 500', json(500, { code: 'BILL_INTERNAL' })],
      ['a 403', json(403, { code: 'AUTH_FORBIDDEN' })],
      ['another tenant’s record', json(200, { ...PREMIUM, tenantId: randomUUID() })],
      ['not a record', json(200, ['premium'])],
      ['not JSON', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('premium')],
      ['no answer in time', () => {}],
    ];
    for (const [what, answer] of refusals) {
      handle = answer;
      await assert.rejects(source.read(tenant), Error, what);
    }
  });
});

describe('chat start-up says where plans come from', () => {
  async function startUpLines(env: Record<string, string>) {
    const log = captureLogger('chat', 'info');
    const chat = await buildApp(
      loadConfig({
        GATEWAY_ASSERTION_SECRET: randomSecret(),
        CHAT_DB_MEMORY: 'true',
        CHAT_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-chat-')),
        ...env,
      }),
      { logger: log.logger },
    );
    await chat.close();
    return log.lines.map((l) => String(l.msg)).filter((m) => m.startsWith('entitlements:'));
  }

  it('without Redis and billing: the free plan for every tenant; with billing: read from it, 5 s', async () => {
    assert.deepEqual(await startUpLines({}), [
      "entitlements: neither REDIS_URL nor CHAT_BILLING_URL is set: every tenant gets the free plan's limits, whatever its plan in billing",
    ]);
    assert.deepEqual(await startUpLines({ CHAT_BILLING_URL: 'http://127.0.0.1:9' }), [
      "entitlements: read from billing's internal API (no Redis); a plan change applies within 5 s",
    ]);
  });
});
