import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import { createAssertionVerifier, isPlatformServiceIdentity } from '@gatehouse/kit';
import { randomSecret, startHttpServer } from '@gatehouse/kit/testing';
import { Redis } from 'ioredis';
import { startTestGateway, type TestGateway } from './harness.ts';

/**
 * Revocation through the gateway, against a real HTTP server that speaks the
 * identity service's feed contract (GET /internal/revocations?after&wait,
 * long-poll) and checks that the gateway signs its calls as a platform
 * service. The identity service's own feed is tested in packages/auth and
 * end to end in tests/.
 */

type Event = Record<string, unknown>;

async function feedServer(secret: string) {
  const events: Event[] = [];
  const waiting = new Set<() => void>();
  let refusedCalls = 0;
  let up = true;
  const server = await startHttpServer((req, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const verify = createAssertionVerifier([{ kid: 'gw1', secret }]);
    const checked = verify(req.headers['x-gateway-assertion'], {
      method: req.method ?? '',
      path: url.pathname,
      requestId: String(req.headers['x-request-id']),
    });
    if (
      !checked.ok ||
      !isPlatformServiceIdentity(checked.identity) ||
      checked.identity.sub !== 'service:gateway'
    ) {
      refusedCalls++;
      res.writeHead(401).end();
      return;
    }
    if (!up) {
      res.writeHead(503).end();
      return;
    }
    const after = Number(url.searchParams.get('after') ?? '0');
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ events: events.slice(after), cursor: String(events.length) }));
    };
    if (events.length > after) return answer();
    const wake = () => {
      waiting.delete(wake);
      clearTimeout(timer);
      answer();
    };
    const timer = setTimeout(wake, Number(url.searchParams.get('wait') ?? '0'));
    waiting.add(wake);
  });
  after(async () => {
    for (const wake of [...waiting]) wake();
    await server.close();
  });
  return {
    url: server.url,
    publish(event: Event) {
      events.push(event);
      for (const wake of [...waiting]) wake();
    },
    setUp(value: boolean) {
      up = value;
    },
    refusedCalls: () => refusedCalls,
  };
}

async function until(check: () => Promise<boolean>, ms: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (await check()) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`not within ${ms} ms`);
}

async function statusOf(gw: TestGateway, token: string): Promise<number> {
  return (await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}` } })).status;
}

describe('revocation', () => {
  it('refuses a revoked token, user or tenant within a second through the long-polled feed', async () => {
    const secret = randomSecret();
    const feed = await feedServer(secret);
    const gw = await startTestGateway({
      assertionSecret: secret,
      config: { identity: { url: feed.url, revocationWaitMs: 5_000, userLookup: { enabled: false } } },
    });
    after(() => gw.close());
    const ready = (await (await fetch(`${gw.adminUrl}/ready`)).json()) as {
      checks: Record<string, { ok: boolean }>;
    };
    assert.equal(ready.checks.revocations?.ok, true, 'synced at start');

    const iat = Math.floor(Date.now() / 1000) - 10;
    const one = await gw.token({ jti: 'jti-1', iat, exp: iat + 600 });
    const other = await gw.token({ jti: 'jti-2', iat, exp: iat + 600 });
    assert.equal(await statusOf(gw, one), 200);
    await new Promise((r) => setTimeout(r, 100)); // the gateway is now waiting in a long poll
    feed.publish({ type: 'jti', jti: 'jti-1', exp: iat + 600 });
    const ms = await until(async () => (await statusOf(gw, one)) === 401, 1_000);
    assert.ok(ms < 1_000, `refused after ${ms} ms`);
    assert.equal(await statusOf(gw, other), 200, 'another token of the same user is unaffected');

    feed.publish({ type: 'user', sub: 'user-1', notBefore: iat + 5 });
    await until(async () => (await statusOf(gw, other)) === 401, 1_000);
    const fresh = await gw.token({ iat: iat + 6, exp: iat + 600 });
    assert.equal(await statusOf(gw, fresh), 200, 'a token issued after the watermark is accepted');

    const tenantMate = await gw.token({ sub: 'user-2', tid: 'tenant-9', iat, exp: iat + 600 });
    assert.equal(await statusOf(gw, tenantMate), 200);
    feed.publish({ type: 'tenant', tid: 'tenant-9', notBefore: iat + 5 });
    await until(async () => (await statusOf(gw, tenantMate)) === 401, 1_000);

    assert.equal(feed.refusedCalls(), 0, 'every feed call was signed as service:gateway');
    const refusal = gw.logs.lines.filter((l) => l.msg === 'request' && l.reason === 'revoked');
    assert.ok(refusal.length >= 3);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /gateway_auth_failures_total\{reason="revoked"\} [3-9]/);
    assert.match(metrics, /gateway_revocation_events_total\{source="feed"\} 3/);
  });

  it('keeps serving with what it knows while the identity service is down, and catches up after', async () => {
    const secret = randomSecret();
    const feed = await feedServer(secret);
    const gw = await startTestGateway({
      assertionSecret: secret,
      config: { identity: { url: feed.url, revocationWaitMs: 1_000, userLookup: { enabled: false } } },
    });
    after(() => gw.close());
    const iat = Math.floor(Date.now() / 1000) - 10;
    const revoked = await gw.token({ jti: 'gone', iat, exp: iat + 600 });
    feed.publish({ type: 'jti', jti: 'gone', exp: iat + 600 });
    await until(async () => (await statusOf(gw, revoked)) === 401, 1_000);
    feed.setUp(false);
    await new Promise((r) => setTimeout(r, 1_200));
    const valid = await gw.token({ iat, exp: iat + 600 });
    assert.equal(await statusOf(gw, valid), 200, 'valid tokens still pass');
    assert.equal(await statusOf(gw, revoked), 401, 'known revocations still hold');
    const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
      revocations: { lastError: string };
    };
    assert.match(health.revocations.lastError, /503/);
    feed.setUp(true);
    const later = await gw.token({ jti: 'later', iat, exp: iat + 600 });
    feed.publish({ type: 'jti', jti: 'later', exp: iat + 600 });
    await until(async () => (await statusOf(gw, later)) === 401, 8_000);
  });

  it('is not ready before the first sync', async () => {
    const gw = await startTestGateway({ config: { identity: { url: 'http://127.0.0.1:1' } } });
    after(() => gw.close());
    const res = await fetch(`${gw.adminUrl}/ready`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
    assert.equal(body.checks.revocations?.ok, false);
  });

  const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;
  it('applies events published on Redis at once', {
    skip: redisUrl === undefined ? 'SKIPPED: Redis not available (GATEHOUSE_TEST_REDIS_URL unset)' : false,
  }, async () => {
    const secret = randomSecret();
    const feed = await feedServer(secret);
    const gw = await startTestGateway({
      config: {
        identity: {
          url: feed.url,
          redisUrl: redisUrl as string,
          revocationWaitMs: 25_000,
          userLookup: { enabled: false },
        },
      },
    });
    after(() => gw.close());
    const publisher = new Redis(redisUrl as string);
    after(() => publisher.quit());
    const iat = Math.floor(Date.now() / 1000) - 10;
    const token = await gw.token({ jti: 'via-redis', iat, exp: iat + 600 });
    assert.equal(await statusOf(gw, token), 200);
    await until(async () => {
      const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
        revocations: { redis: string };
      };
      return health.revocations.redis === 'subscribed';
    }, 3_000);
    await publisher.publish(
      'gatehouse:revocations',
      JSON.stringify({ type: 'jti', jti: 'via-redis', exp: iat + 600 }),
    );
    await until(async () => (await statusOf(gw, token)) === 401, 1_000);
    assert.match(
      await (await fetch(`${gw.adminUrl}/metrics`)).text(),
      /gateway_revocation_events_total\{source="redis"\} 1/,
    );
  });
});
