import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { ACCESS_INVALIDATION_CHANNEL } from '../src/access/access-checks.ts';
import { closedPortUrl, json, startTestChecker, type TestChecker } from '../src/access/testing.ts';
import type { GatewayConfigInput } from '../src/config/schema.ts';
import { problemOf, rawGet, rawRequest, startTestGateway, type TestGateway } from './harness.ts';

/**
 * Resource access checks through a real gateway: a real access-check service
 * and a real echo upstream on port 0, tokens signed with real keys. Attacks
 * and failures of the checker must end in 403 GW_ACCESS_DENIED with the
 * upstream never reached.
 *
 * Needs the gateway to accept `routes[].access` and the `access` block (see
 * docs/access-checks.md); until the stage is wired into app.ts these fail.
 */

const PREFIX = '/api/v1/venues';
const VENUE_ACCESS = [
  { rule: 'PUT,PATCH,DELETE /:venueId/**', resource: 'venue', param: 'venueId', checker: 'venue-access' },
  { rule: 'GET /:venueId', resource: 'venue', param: 'venueId', checker: 'venue-access' },
];

interface Setup {
  readonly gw: TestGateway;
  readonly checker: TestChecker;
  /** Sends a request as user `sub` of tenant `tid`. */
  send(method: string, path: string, user?: { sub?: string; tid?: string }): Promise<Response>;
  /** Requests of `path` that reached the upstream. */
  upstreamSaw(path: string): number;
}

async function setup(
  options: {
    checker?: Record<string, unknown>;
    cache?: Record<string, unknown>;
    redisUrl?: string;
    checkerUrl?: string;
  } = {},
): Promise<Setup> {
  const checker = await startTestChecker();
  after(() => checker.close());
  // `access` is not in the config types before integration; the document is what a YAML file would hold.
  const config = {
    routes: [
      { prefix: PREFIX, upstream: 'echo', public: ['GET /public/**'], access: VENUE_ACCESS },
      { prefix: '/api', upstream: 'echo' },
    ],
    access: {
      ...(options.cache === undefined ? {} : { cache: options.cache }),
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
      checkers: { 'venue-access': { url: options.checkerUrl ?? checker.url, ...options.checker } },
    },
  } as unknown as Partial<GatewayConfigInput>;
  const gw = await startTestGateway({ config });
  after(() => gw.close());
  return {
    gw,
    checker,
    async send(method, path, user = {}) {
      const token = await gw.token({ sub: user.sub ?? 'user-1', tid: user.tid ?? 'tenant-1' });
      return fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    },
    upstreamSaw: (path) => gw.upstream.arrived.filter((line) => line.endsWith(` ${path}`)).length,
  };
}

async function assertDenied(res: Response): Promise<void> {
  assert.equal(res.status, 403, await res.clone().text());
  const problem = await problemOf(res);
  assert.equal(problem.code, 'GW_ACCESS_DENIED');
  assert.equal(problem.title, 'Access Denied');
}

function denials(gw: TestGateway): Record<string, unknown>[] {
  return gw.logs.lines.filter((line) => line.event === 'access_denied');
}

describe('resource access checks through the gateway', () => {
  it('lets an allowed request reach the upstream, after asking the checker the exact question', async () => {
    const s = await setup();
    const res = await s.send('PUT', `${PREFIX}/v-42/settings`, { sub: 'user-7', tid: 'tenant-3' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(s.upstreamSaw(`${PREFIX}/v-42/settings`), 1);
    assert.equal(s.checker.calls.length, 1);
    const call = s.checker.calls[0];
    assert.equal(call?.method, 'POST');
    assert.deepEqual(JSON.parse(call?.text ?? ''), {
      tenantId: 'tenant-3',
      userId: 'user-7',
      resourceType: 'venue',
      resourceId: 'v-42',
      action: 'write',
    });
    assert.equal(typeof call?.headers['x-gateway-assertion'], 'string');
    assert.equal(call?.headers.authorization, undefined, "the user's token never goes to the checker");
    assert.equal(call?.headers['x-request-id'], res.headers.get('x-request-id'));
  });

  it('answers 403 GW_ACCESS_DENIED on a denial and never calls the upstream', async () => {
    const s = await setup();
    s.checker.deny.add('v-9');
    await assertDenied(await s.send('DELETE', `${PREFIX}/v-9`));
    await assertDenied(await s.send('GET', `${PREFIX}/v-9`));
    assert.equal(s.upstreamSaw(`${PREFIX}/v-9`), 0);
    const event = denials(s.gw)[0];
    assert.equal(event?.reason, 'denied');
    assert.equal(event?.resourceId, 'v-9');
    assert.equal(event?.userId, 'user-1');
    assert.equal(event?.tenantId, 'tenant-1');
    assert.equal(typeof event?.requestId, 'string');
    assert.doesNotMatch(s.gw.logs.text(), /eyJ/, 'no token in the logs');
    // Paths of the route that no access rule covers are not checked.
    assert.equal((await s.send('GET', `${PREFIX}/v-9/photos`)).status, 200);
    assert.equal((await fetch(`${s.gw.url}${PREFIX}/public/v-9`)).status, 200);
    assert.equal(s.checker.calls.length, 2);
  });

  it('asks nothing for a request without a valid token: authentication refuses it first', async () => {
    const s = await setup();
    const res = await fetch(`${s.gw.url}${PREFIX}/v-1`, { method: 'DELETE' });
    assert.equal(res.status, 401);
    assert.equal(s.checker.calls.length, 0);
  });

  it('denies whenever the checker fails, and the upstream is never called', async () => {
    const s = await setup({ checker: { timeoutMs: 300 } });
    const failures: [string, (res: import('node:http').ServerResponse) => void, string][] = [
      ['500', (res) => json(res, 500, '{"allowed":true}'), 'error'],
      ['junk', (res) => json(res, 200, 'allowed'), 'bad_answer'],
      ['"true"', (res) => json(res, 200, '{"allowed":"true"}'), 'bad_answer'],
      ['1', (res) => json(res, 200, '{"allowed":1}'), 'bad_answer'],
      ['{}', (res) => json(res, 200, '{}'), 'bad_answer'],
      [
        'slow',
        (res) => {
          const timer = setTimeout(() => json(res, 200, '{"allowed":true}'), 2_000);
          res.on('close', () => clearTimeout(timer));
        },
        'timeout',
      ],
    ];
    for (const [name, answer, reason] of failures) {
      s.checker.answer = (_call, res) => answer(res);
      const path = `${PREFIX}/v-${name.replace(/\W/g, '')}`;
      for (let i = 0; i < 2; i++) await assertDenied(await s.send('PATCH', path));
      assert.equal(s.upstreamSaw(path), 0, name);
      assert.equal(denials(s.gw).at(-1)?.reason, reason, name);
    }
    assert.equal(s.checker.calls.length, failures.length * 2, 'failures are never cached');
  });

  it('denies when nothing listens at the checker URL', async () => {
    const s = await setup({ checkerUrl: await closedPortUrl() });
    await assertDenied(await s.send('DELETE', `${PREFIX}/v-1`));
    assert.equal(s.upstreamSaw(`${PREFIX}/v-1`), 0);
    assert.equal(denials(s.gw)[0]?.reason, 'error');
  });

  it('opens the breaker after repeated failures and then denies fast without asking', async () => {
    const s = await setup({ checker: { breaker: { minimumRequests: 5, openSeconds: 60 } } });
    s.checker.answer = (_call, res) => json(res, 503, '');
    for (let i = 0; i < 5; i++) await assertDenied(await s.send('DELETE', `${PREFIX}/v-${i}`));
    s.checker.answer = (_call, res) => json(res, 200, '{"allowed":true}');
    for (let i = 0; i < 10; i++) await assertDenied(await s.send('DELETE', `${PREFIX}/v-${i}`));
    assert.equal(s.checker.calls.length, 5);
    assert.equal(denials(s.gw).at(-1)?.reason, 'circuit_open');
    assert.equal(s.gw.upstream.arrived.length, 0);
  });

  it('answers a repeated question from the cache, and forgets denials sooner than allows', async () => {
    const s = await setup({ cache: { allowTtlSeconds: 600, denyTtlSeconds: 1 } });
    s.checker.deny.add('v-no');
    for (let i = 0; i < 3; i++) assert.equal((await s.send('PUT', `${PREFIX}/v-yes`)).status, 200);
    for (let i = 0; i < 3; i++) await assertDenied(await s.send('PUT', `${PREFIX}/v-no`));
    assert.equal(s.checker.calls.length, 2);
    await new Promise((r) => setTimeout(r, 1_100));
    s.checker.deny.clear();
    assert.equal((await s.send('PUT', `${PREFIX}/v-no`)).status, 200, 'the denial expired');
    assert.equal((await s.send('PUT', `${PREFIX}/v-yes`)).status, 200);
    assert.equal(s.checker.calls.length, 3, 'the allow is still cached');
  });

  it('asks once for 50 identical requests at the same time', async () => {
    const s = await setup();
    s.checker.answer = (_call, res) => setTimeout(() => json(res, 200, '{"allowed":true}'), 150);
    const token = await s.gw.token({ sub: 'user-1', tid: 'tenant-1' });
    const statuses = await Promise.all(
      Array.from({ length: 50 }, () =>
        fetch(`${s.gw.url}${PREFIX}/v-1`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}` },
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(s.checker.calls.length, 1);
  });

  it('passes the resource id exactly as routed (a%20b stays a%20b)', async () => {
    const s = await setup();
    const token = await s.gw.token();
    const res = await rawRequest(
      s.gw.url,
      rawGet(`${PREFIX}/a%20b/x`, [`Authorization: Bearer ${token}`], 'DELETE'),
    );
    assert.equal(res.status, 200, res.raw);
    assert.equal(s.checker.calls.at(-1)?.body.resourceId, 'a%20b');
    assert.deepEqual(s.gw.upstream.arrived, [`DELETE ${PREFIX}/a%20b/x`]);
  });

  it('keeps the decision cache bounded under many distinct users', async () => {
    const s = await setup({ cache: { maxEntries: 10 } });
    for (let i = 0; i < 40; i++)
      assert.equal((await s.send('GET', `${PREFIX}/v-1`, { sub: `u-${i}` })).status, 200);
    assert.equal(s.checker.calls.length, 40);
    await s.send('GET', `${PREFIX}/v-1`, { sub: 'u-39' });
    assert.equal(s.checker.calls.length, 40, 'the newest user is cached');
    await s.send('GET', `${PREFIX}/v-1`, { sub: 'u-0' });
    assert.equal(s.checker.calls.length, 41, 'the oldest was evicted');
  });

  it('counts decisions in the metrics, by reason only', async () => {
    const s = await setup();
    s.checker.deny.add('v-2');
    await s.send('GET', `${PREFIX}/v-1`);
    await s.send('GET', `${PREFIX}/v-1`);
    await s.send('GET', `${PREFIX}/v-2`);
    const text = await (await fetch(`${s.gw.adminUrl}/metrics`)).text();
    assert.match(text, /gateway_access_decisions_total\{[^}]*reason="allowed"[^}]*\} 2/);
    assert.match(text, /gateway_access_decisions_total\{[^}]*reason="denied"[^}]*\} 1/);
    assert.match(text, /gateway_access_cache_lookups_total\{result="hit"\} 1/);
    assert.doesNotMatch(text, /v-2|user-1/, 'no resource or user ids in labels');
  });

  it('refuses a config whose route names an undeclared checker', async () => {
    await assert.rejects(
      startTestGateway({
        config: {
          routes: [{ prefix: PREFIX, upstream: 'echo', access: [{ ...VENUE_ACCESS[0], checker: 'nope' }] }],
          access: { checkers: {} },
        } as unknown as Partial<GatewayConfigInput>,
      }),
      /unknown checker "nope"/,
    );
  });
});

describe('access invalidations through Redis, across gateway instances', () => {
  const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;
  const skip =
    redisUrl === undefined ? 'SKIPPED: Redis not available (GATEHOUSE_TEST_REDIS_URL unset)' : false;
  if (skip !== false) process.stderr.write(`access-checks.test: ${skip}\n`);

  it('applies a published invalidation on every instance', { skip }, async () => {
    const a = await setup({ redisUrl });
    const b = await setup({ redisUrl, checkerUrl: a.checker.url });
    const checker = a.checker;
    assert.equal((await a.send('PUT', `${PREFIX}/v-1`)).status, 200);
    assert.equal((await b.send('PUT', `${PREFIX}/v-1`)).status, 200);
    assert.equal((await a.send('PUT', `${PREFIX}/v-1`)).status, 200);
    assert.equal(checker.calls.length, 2);
    checker.deny.add('v-1');
    const publisher = new Redis(redisUrl as string);
    after(() => publisher.quit());
    // Subscriptions start with the gateway; publish until both instances have applied one.
    const deadline = Date.now() + 5_000;
    let deniedA = false;
    let deniedB = false;
    while ((!deniedA || !deniedB) && Date.now() < deadline) {
      await publisher.publish(
        ACCESS_INVALIDATION_CHANNEL,
        JSON.stringify({ tenantId: 'tenant-1', resourceId: 'v-1' }),
      );
      await new Promise((r) => setTimeout(r, 50));
      deniedA ||= (await a.send('PUT', `${PREFIX}/v-1`)).status === 403;
      deniedB ||= (await b.send('PUT', `${PREFIX}/v-1`)).status === 403;
    }
    assert.ok(deniedA && deniedB, `instance a denied: ${deniedA}, instance b denied: ${deniedB}`);
    assert.equal(a.upstreamSaw(`${PREFIX}/v-1`) + b.upstreamSaw(`${PREFIX}/v-1`), 3);
  });
});
