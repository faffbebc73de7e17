import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { problemOf, startTestGateway } from './harness.ts';

/**
 * The rate-limit stage in the pipeline: keyed by the verified identity (never
 * by a header the client chose), anonymous callers by address, a stricter
 * route limit on top, the IETF headers on every answer, 429 with Retry-After.
 * The limiter itself (GCRA, Redis, fallback) is tested in src/ratelimit.
 */
describe('rate limiting in the pipeline', () => {
  it('limits each user of a tenant on its own, with headers on every answer', async () => {
    const gw = await startTestGateway({
      config: {
        rateLimits: {
          tiers: {
            anonymous: { limit: 2, windowSeconds: 60 },
            free: { limit: 3, windowSeconds: 60 },
            standard: { limit: 100, windowSeconds: 60 },
            premium: { limit: 100, windowSeconds: 60 },
          },
        },
      },
    });
    after(() => gw.close());
    const alice = await gw.token({ sub: 'alice', tid: 't1' });
    const bob = await gw.token({ sub: 'bob', tid: 't1' });
    const get = (token: string, headers: Record<string, string> = {}) =>
      fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}`, ...headers } });

    const first = await get(alice);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-policy'), '"free";q=3;w=60');
    assert.match(first.headers.get('ratelimit') ?? '', /^"free";r=2;t=\d+$/);
    assert.equal((await get(alice)).status, 200);
    assert.equal(
      (await get(alice, { 'x-user-id': 'someone-else', 'x-forwarded-for': '9.9.9.9' })).status,
      200,
    );
    const refused = await get(alice);
    assert.equal(refused.status, 429);
    assert.equal((await problemOf(refused)).code, 'GW_RATE_LIMITED');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.match(refused.headers.get('ratelimit') ?? '', /^"free";r=0;t=\d+$/);
    assert.equal((await get(bob)).status, 200, 'another user of the same tenant has a limit of their own');

    // Anonymous callers: by client address.
    const anon = () => fetch(`${gw.url}/api/public/x`);
    assert.equal((await anon()).status, 200);
    assert.equal((await anon()).status, 200);
    const anonRefused = await anon();
    assert.equal(anonRefused.status, 429);
    assert.equal(anonRefused.headers.get('ratelimit-policy'), '"anonymous";q=2;w=60');

    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /gateway_rate_limit_exceeded_total\{route="\/api",tier="free"\} 1/);
    assert.match(metrics, /gateway_rate_limit_exceeded_total\{route="\/api",tier="anonymous"\} 1/);
    const refusedLog = gw.logs.lines.find((l) => l.msg === 'request' && l.status === 429);
    assert.equal(refusedLog?.reason, 'rate_limited:free');
  });

  it('applies a stricter route limit on top of the tier, per caller and route', async () => {
    const gw = await startTestGateway({
      config: {
        routes: [
          {
            prefix: '/api/login',
            upstream: 'echo',
            public: ['POST /'],
            rateLimit: { limit: 2, windowSeconds: 60 },
          },
          { prefix: '/api', upstream: 'echo', public: ['* /**'] },
        ],
      },
    });
    after(() => gw.close());
    const login = () => fetch(`${gw.url}/api/login`, { method: 'POST', body: '{}' });
    assert.equal((await login()).status, 200);
    assert.equal((await login()).status, 200);
    const refused = await login();
    assert.equal(refused.status, 429);
    assert.match(refused.headers.get('ratelimit-policy') ?? '', /q=2;w=60/);
    assert.equal(
      (await fetch(`${gw.url}/api/other`)).status,
      200,
      'the route limit does not spill onto other routes',
    );
  });

  it('reports the in-memory limiter as ready, not degraded', async () => {
    const gw = await startTestGateway();
    after(() => gw.close());
    const ready = (await (await fetch(`${gw.adminUrl}/ready`)).json()) as {
      status: string;
      checks: Record<string, { ok: boolean; degraded?: boolean; detail?: string }>;
    };
    assert.equal(ready.status, 'ready');
    assert.deepEqual(
      { ok: ready.checks['rate-limit']?.ok, degraded: ready.checks['rate-limit']?.degraded },
      { ok: true, degraded: false },
    );
  });
});
