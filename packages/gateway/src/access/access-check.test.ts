import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { captureLogger, randomSecret } from '@gatehouse/kit/testing';
import { Redis } from 'ioredis';
import { loadGatewayConfig } from '../config/load.ts';
import type { RequestContext } from '../context.ts';
import type { Identity } from '../identity/verifier.ts';
import { normalizeTarget } from '../routing/normalize-path.ts';
import { RouteTable } from '../routing/route-table.ts';
import { createRouteMatch } from '../stages/route-match.ts';
import { contextFor } from '../test-context.ts';
import { createAccessCheck } from './access-check.ts';
import { ACCESS_INVALIDATION_CHANNEL, ACCESS_REDIS_CONNECTION_NAME, AccessChecks } from './access-checks.ts';
import { AccessRuleTable } from './rules.ts';
import { type AccessSettingsInput, accessChecksSchema, accessSettingsSchema } from './schema.ts';
import { closedPortUrl, json, startTestChecker, type TestChecker } from './testing.ts';

/**
 * The access-check stage composed with the real route match and path
 * normalisation, in front of a real access-check service on port 0. The
 * full-gateway version of these tests is test/access-checks.test.ts.
 */

const PREFIX = '/api/v1/venues';
const ASSERTION_KEYS = [{ kid: 'gw1', secret: randomSecret() }];
const VENUE_RULES = [
  { rule: 'PUT,PATCH,DELETE /:venueId/**', resource: 'venue', param: 'venueId', checker: 'venue-access' },
  { rule: 'GET /:venueId', resource: 'venue', param: 'venueId', checker: 'venue-access' },
];

const { config: gatewayConfig } = loadGatewayConfig(
  {
    auth: { issuer: 'https://auth.test', audience: 'gatehouse', hs256Secret: randomSecret() },
    assertion: { keys: ASSERTION_KEYS },
    upstreams: { venue: { url: 'http://127.0.0.1:9' } },
    routes: [{ prefix: PREFIX, upstream: 'venue', public: ['GET /public/**'] }],
  },
  {},
  'access-check.test',
);
const routeMatch = createRouteMatch(new RouteTable(gatewayConfig));

interface Setup {
  readonly checker: TestChecker;
  readonly checks: AccessChecks;
  readonly logs: ReturnType<typeof captureLogger>;
  /** Runs route match and the access stage for one request; resolves to the error it threw, if any. */
  run(
    method: string,
    target: string,
    user?: { sub: string; tid: string } | null,
  ): Promise<{ ctx: RequestContext; error: (Error & { code?: string; status?: number }) | undefined }>;
  denials(): Record<string, unknown>[];
}

async function setup(
  options: {
    settings?: Partial<AccessSettingsInput>;
    checker?: Record<string, unknown>;
    rules?: unknown[];
    checkerUrl?: string;
  } = {},
): Promise<Setup> {
  const checker = await startTestChecker();
  after(() => checker.close());
  const logs = captureLogger('gateway', 'debug');
  const settings = accessSettingsSchema.parse({
    ...options.settings,
    checkers: { 'venue-access': { url: options.checkerUrl ?? checker.url, ...options.checker } },
  });
  const checks = new AccessChecks({ settings, assertionKeys: ASSERTION_KEYS, logger: logs.logger });
  after(() => checks.stop());
  const rules = new AccessRuleTable([
    { prefix: PREFIX, access: accessChecksSchema.parse(options.rules ?? VENUE_RULES) },
  ]);
  const accessCheck = createAccessCheck({ checks, rules, logger: logs.logger });
  return {
    checker,
    checks,
    logs,
    async run(method, target, user = { sub: 'u1', tid: 't1' }) {
      const ctx = contextFor({ method, url: target });
      const normal = normalizeTarget(target);
      assert.ok(normal.ok, `test target ${target} must be a valid path`);
      ctx.path = normal.path;
      ctx.requestId = randomUUID();
      routeMatch(ctx);
      if (user !== null && !ctx.isPublic) {
        ctx.identity = {
          ...user,
          roles: ['member'],
          jti: randomUUID(),
          iat: 0,
          exp: 0,
          tokenExp: 0,
        } as Identity;
      }
      try {
        await accessCheck(ctx);
        return { ctx, error: undefined };
      } catch (err) {
        return { ctx, error: err as Error & { code?: string } };
      }
    },
    denials: () => logs.lines.filter((line) => line.event === 'access_denied'),
  };
}

function assertDenied(result: Awaited<ReturnType<Setup['run']>>, reason: string): void {
  assert.equal(result.error?.code, 'GW_ACCESS_DENIED', `expected a denial (${reason}), got ${result.error}`);
  assert.equal(result.error?.status, 403);
  assert.equal(result.ctx.failure, `access_denied:${reason}`);
}

describe('access check stage', () => {
  it('asks the checker with the exact question and lets an allowed request through', async () => {
    const s = await setup();
    const put = await s.run('PUT', `${PREFIX}/v-42/settings`);
    assert.equal(put.error, undefined);
    assert.equal(s.checker.calls.length, 1);
    assert.deepEqual(JSON.parse(s.checker.calls[0]?.text ?? ''), {
      tenantId: 't1',
      userId: 'u1',
      resourceType: 'venue',
      resourceId: 'v-42',
      action: 'write',
    });
    assert.equal(s.checker.calls[0]?.headers['x-request-id'], put.ctx.requestId);
    assert.ok(typeof s.checker.calls[0]?.headers['x-gateway-assertion'] === 'string');
    // GET and HEAD read; the GET rule matches only the venue itself.
    assert.equal((await s.run('GET', `${PREFIX}/v-42`)).error, undefined);
    assert.equal((await s.run('HEAD', `${PREFIX}/v-43`)).error, undefined);
    assert.deepEqual(
      s.checker.calls.slice(1).map((c) => [c.body.resourceId, c.body.action]),
      [
        ['v-42', 'read'],
        ['v-43', 'read'],
      ],
    );
    assert.deepEqual(s.denials(), []);
  });

  it('leaves alone requests no rule matches, public requests, and other routes', async () => {
    const s = await setup();
    assert.equal((await s.run('GET', `${PREFIX}/v-1/photos`)).error, undefined); // no GET rule for sub-paths
    assert.equal((await s.run('POST', `${PREFIX}`)).error, undefined); // nothing to check yet
    assert.equal((await s.run('GET', `${PREFIX}/public/v-1`, null)).error, undefined);
    assert.equal(s.checker.calls.length, 0);
  });

  it('uses the action a rule names instead of the method', async () => {
    const s = await setup({
      rules: [
        {
          rule: 'POST /:venueId/tickets',
          resource: 'venue',
          param: 'venueId',
          action: 'sell',
          checker: 'venue-access',
        },
      ],
    });
    assert.equal((await s.run('POST', `${PREFIX}/v-1/tickets`)).error, undefined);
    assert.equal(s.checker.calls[0]?.body.action, 'sell');
  });

  it('denies with 403 GW_ACCESS_DENIED and logs a security event', async () => {
    const s = await setup();
    s.checker.deny.add('v-9');
    const result = await s.run('DELETE', `${PREFIX}/v-9`, { sub: 'u7', tid: 't3' });
    assertDenied(result, 'denied');
    const [event, ...more] = s.denials();
    assert.equal(more.length, 0);
    assert.equal(event?.level, 'warn');
    assert.deepEqual(
      {
        reason: event?.reason,
        tenantId: event?.tenantId,
        userId: event?.userId,
        resourceType: event?.resourceType,
        resourceId: event?.resourceId,
        action: event?.action,
        requestId: event?.requestId,
      },
      {
        reason: 'denied',
        tenantId: 't3',
        userId: 'u7',
        resourceType: 'venue',
        resourceId: 'v-9',
        action: 'write',
        requestId: result.ctx.requestId,
      },
    );
    assert.doesNotMatch(s.logs.text(), /x-gateway-assertion|eyJ/, 'no token or assertion in the logs');
  });

  it('requires every matching rule to allow', async () => {
    const s = await setup({
      rules: [
        {
          rule: 'PUT /:venueId/events/:eventId',
          resource: 'venue',
          param: 'venueId',
          checker: 'venue-access',
        },
        {
          rule: 'PUT /:venueId/events/:eventId',
          resource: 'event',
          param: 'eventId',
          checker: 'venue-access',
        },
      ],
    });
    assert.equal((await s.run('PUT', `${PREFIX}/v-1/events/e-1`)).error, undefined);
    assert.deepEqual(s.checker.calls.map((c) => `${c.body.resourceType}:${c.body.resourceId}`).sort(), [
      'event:e-1',
      'venue:v-1',
    ]);
    s.checker.deny.add('e-2');
    const denied = await s.run('PUT', `${PREFIX}/v-1/events/e-2`);
    assertDenied(denied, 'denied');
    assert.equal(s.denials()[0]?.resourceType, 'event');
  });

  it('denies on every failure of the checker, and asks again next time', async () => {
    const s = await setup({ checker: { timeoutMs: 200 } });
    const failures: [string, (res: import('node:http').ServerResponse) => void, string][] = [
      ['500', (res) => json(res, 500, '{"allowed":true}'), 'error'],
      ['junk', (res) => json(res, 200, '<html>ok</html>'), 'bad_answer'],
      ['"true"', (res) => json(res, 200, '{"allowed":"true"}'), 'bad_answer'],
      ['1', (res) => json(res, 200, '{"allowed":1}'), 'bad_answer'],
      ['{}', (res) => json(res, 200, '{}'), 'bad_answer'],
      [
        'slow',
        (res) => {
          const timer = setTimeout(() => json(res, 200, '{"allowed":true}'), 1_500);
          res.on('close', () => clearTimeout(timer));
        },
        'timeout',
      ],
    ];
    for (const [name, answer, reason] of failures) {
      s.checker.answer = (_call, res) => answer(res);
      const before = s.checker.calls.length;
      assertDenied(await s.run('PATCH', `${PREFIX}/v-1`), reason);
      assertDenied(await s.run('PATCH', `${PREFIX}/v-1`), reason);
      assert.equal(s.checker.calls.length - before, 2, `${name}: a failure is not cached`);
      assert.equal(s.denials().at(-1)?.reason, reason, name);
    }
  });

  it('denies when nothing listens at the checker URL', async () => {
    const s = await setup({ checkerUrl: await closedPortUrl() });
    assertDenied(await s.run('DELETE', `${PREFIX}/v-1`), 'error');
    assert.equal(s.denials()[0]?.reason, 'error');
  });

  it('opens the breaker after repeated failures and then denies at once without asking', async () => {
    const s = await setup({ checker: { breaker: { minimumRequests: 5, openSeconds: 60 } } });
    s.checker.answer = (_call, res) => json(res, 503, '');
    for (let i = 0; i < 5; i++) assertDenied(await s.run('DELETE', `${PREFIX}/v-${i}`), 'error');
    assert.equal(s.checks.breaker('venue-access')?.state, 'open');
    s.checker.answer = (_call, res) => json(res, 200, '{"allowed":true}');
    for (let i = 0; i < 20; i++) assertDenied(await s.run('DELETE', `${PREFIX}/v-${i}`), 'circuit_open');
    assert.equal(s.checker.calls.length, 5);
    assert.equal(s.denials().at(-1)?.reason, 'circuit_open');
    assert.ok(s.logs.lines.some((l) => l.event === 'circuit_breaker' && l.state === 'open'));
  });

  it('answers a repeated question from the cache', async () => {
    const s = await setup();
    for (let i = 0; i < 3; i++) assert.equal((await s.run('PUT', `${PREFIX}/v-1`)).error, undefined);
    assert.equal(s.checker.calls.length, 1);
    // Another user, tenant, action or resource is another question.
    await s.run('PUT', `${PREFIX}/v-1`, { sub: 'u2', tid: 't1' });
    await s.run('PUT', `${PREFIX}/v-1`, { sub: 'u1', tid: 't2' });
    await s.run('GET', `${PREFIX}/v-1`);
    await s.run('PUT', `${PREFIX}/v-2`);
    assert.equal(s.checker.calls.length, 5);
    s.checker.deny.add('v-3');
    assertDenied(await s.run('PUT', `${PREFIX}/v-3`), 'denied');
    assertDenied(await s.run('PUT', `${PREFIX}/v-3`), 'denied');
    assert.equal(s.checker.calls.length, 6, 'a real denial is cached');
    assert.equal(s.denials().at(-1)?.source, 'cache');
    assert.equal(s.checks.stats.cacheHits, 3);
    assert.equal(s.checks.stats.cacheMisses, 6);
  });

  it('forgets denials sooner than allows', async () => {
    const s = await setup({ settings: { cache: { allowTtlSeconds: 600, denyTtlSeconds: 1 } } });
    s.checker.deny.add('v-no');
    await s.run('PUT', `${PREFIX}/v-yes`);
    assertDenied(await s.run('PUT', `${PREFIX}/v-no`), 'denied');
    assert.equal(s.checker.calls.length, 2);
    await new Promise((r) => setTimeout(r, 1_100));
    s.checker.deny.clear();
    assert.equal((await s.run('PUT', `${PREFIX}/v-no`)).error, undefined, 'the denial expired: asked again');
    assert.equal((await s.run('PUT', `${PREFIX}/v-yes`)).error, undefined);
    assert.equal(s.checker.calls.length, 3, 'the allow is still cached');
  });

  it('asks once for 50 identical questions in flight at the same time', async () => {
    const s = await setup();
    s.checker.answer = (_call, res) => setTimeout(() => json(res, 200, '{"allowed":true}'), 100);
    const results = await Promise.all(Array.from({ length: 50 }, () => s.run('PUT', `${PREFIX}/v-1`)));
    assert.ok(results.every((r) => r.error === undefined));
    assert.equal(s.checker.calls.length, 1);
    assert.equal(s.checks.stats.coalesced, 49);
    // A failure is shared by those waiting on it, and not cached.
    s.checker.answer = (_call, res) => setTimeout(() => json(res, 500, ''), 100);
    const failed = await Promise.all(Array.from({ length: 50 }, () => s.run('PUT', `${PREFIX}/v-2`)));
    for (const r of failed) assertDenied(r, 'error');
    assert.equal(s.checker.calls.length, 2);
    assert.equal(s.denials().length, 50, 'every denied request is logged');
  });

  it('drops invalidated decisions, and only those', async () => {
    const s = await setup();
    await s.run('PUT', `${PREFIX}/v-1`);
    await s.run('PUT', `${PREFIX}/v-2`);
    assert.equal(s.checker.calls.length, 2);
    s.checker.deny.add('v-1');
    s.checker.deny.add('v-2');
    assert.equal(s.checks.invalidate({ tenantId: 't1', resourceType: 'venue', resourceId: 'v-1' }), 1);
    assert.equal(s.checks.invalidate({ tenantId: 't9' }), 0);
    assertDenied(await s.run('PUT', `${PREFIX}/v-1`), 'denied');
    assert.equal((await s.run('PUT', `${PREFIX}/v-2`)).error, undefined, 'v-2 was not invalidated');
    assert.equal(s.checker.calls.length, 3);
    assert.equal(s.checks.invalidate({ userId: 'u1' }), 2);
    assertDenied(await s.run('PUT', `${PREFIX}/v-2`), 'denied');
  });

  it('does not cache an answer to a question invalidated while it was being asked', async () => {
    const s = await setup();
    let release: (() => void) | undefined;
    s.checker.answer = (_call, res) => {
      release = () => json(res, 200, '{"allowed":true}');
    };
    const pending = s.run('PUT', `${PREFIX}/v-1`);
    while (release === undefined) await new Promise((r) => setTimeout(r, 5));
    s.checks.invalidate({ resourceId: 'v-1' });
    // A request after the invalidation does not join the call already out.
    s.checker.answer = (_call, res) => json(res, 200, '{"allowed":false}');
    assertDenied(await s.run('PUT', `${PREFIX}/v-1`), 'denied');
    release();
    assert.equal((await pending).error, undefined);
    assertDenied(await s.run('PUT', `${PREFIX}/v-1`), 'denied');
    assert.equal(s.checker.calls.length, 2, 'the newer denial is cached, the stale allow is not');
  });

  it('passes the resource id exactly as routed, never decoded again', async () => {
    const s = await setup();
    const cases: [string, string][] = [
      [`${PREFIX}/a%20b`, 'a%20b'],
      [`${PREFIX}/caf%C3%A9`, 'caf%C3%A9'],
      // The canonical path is what was routed (and what the upstream receives): %61 is `a`.
      [`${PREFIX}/%61bc`, 'abc'],
      [`${PREFIX}/a%27b`, "a'b"],
    ];
    for (const [target, expected] of cases) {
      const { ctx, error } = await s.run('DELETE', target);
      assert.equal(error, undefined);
      assert.equal(s.checker.calls.at(-1)?.body.resourceId, expected, target);
      assert.equal(ctx.segments[0], expected);
    }
  });

  it('keeps the decision cache within maxEntries under many distinct users', async () => {
    const s = await setup({ settings: { cache: { maxEntries: 100 } } });
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          s.run('PUT', `${PREFIX}/v-1`, { sub: `u-${batch}-${i}`, tid: 't1' }),
        ),
      );
      assert.ok(s.checks.status().cache.entries <= 100, `${s.checks.status().cache.entries} entries`);
    }
    assert.equal(s.checks.status().cache.entries, 100);
    assert.equal(s.checker.calls.length, 1_000);
    // The oldest users were evicted: asked again; the newest are still cached.
    await s.run('PUT', `${PREFIX}/v-1`, { sub: 'u-0-0', tid: 't1' });
    await s.run('PUT', `${PREFIX}/v-1`, { sub: 'u-9-99', tid: 't1' });
    assert.equal(s.checker.calls.length, 1_001);
  });

  it('reports decisions and cache lookups to its hooks', async () => {
    const checker = await startTestChecker();
    after(() => checker.close());
    checker.deny.add('v-2');
    const seen: string[] = [];
    const checks = new AccessChecks({
      settings: accessSettingsSchema.parse({ checkers: { 'venue-access': { url: checker.url } } }),
      assertionKeys: ASSERTION_KEYS,
      logger: captureLogger().logger,
      hooks: {
        onDecision: (name, reason, source) => seen.push(`decision ${name} ${reason} ${source}`),
        onCacheLookup: (result) => seen.push(`cache ${result}`),
        onCheckerCall: (name, reason, seconds) => seen.push(`call ${name} ${reason} ${seconds >= 0}`),
        onInvalidation: (source, dropped) => seen.push(`invalidation ${source} ${dropped}`),
      },
    });
    after(() => checks.stop());
    const q = {
      checker: 'venue-access',
      tenantId: 't',
      userId: 'u',
      resourceType: 'venue',
      resourceId: 'v-1',
      action: 'read',
    };
    await checks.check(q);
    await checks.check(q);
    await checks.check({ ...q, resourceId: 'v-2' });
    checks.invalidate({ resourceId: 'v-1' });
    assert.deepEqual(seen, [
      'cache miss',
      'call venue-access allowed true',
      'decision venue-access allowed checker',
      'cache hit',
      'decision venue-access allowed cache',
      'cache miss',
      'call venue-access denied true',
      'decision venue-access denied checker',
      'invalidation local 1',
    ]);
    assert.deepEqual(checks.stats.decisions, {
      allowed: 2,
      denied: 1,
      timeout: 0,
      error: 0,
      bad_answer: 0,
      circuit_open: 0,
    });
    assert.deepEqual(checks.status().checkers, [
      { name: 'venue-access', url: checker.url, breaker: 'closed' },
    ]);
  });
});

describe('access invalidations through Redis', () => {
  const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;
  const skip =
    redisUrl === undefined ? 'SKIPPED: Redis not available (GATEHOUSE_TEST_REDIS_URL unset)' : false;
  if (skip !== false) process.stderr.write(`access-check.test: ${skip}\n`);

  it('applies an invalidation published on Redis on every instance', { skip }, async () => {
    // Two instances, as two gateway processes would be, sharing one checker and one Redis.
    const a = await setup({ settings: { redisUrl } });
    const checker = a.checker;
    const b = await setup({ settings: { redisUrl }, checkerUrl: checker.url });
    a.checks.start();
    b.checks.start();
    assert.ok(await a.checks.subscribed(), 'instance a subscribed');
    assert.ok(await b.checks.subscribed(), 'instance b subscribed');
    assert.equal(a.checks.status().redis, 'subscribed');
    await a.run('PUT', `${PREFIX}/v-1`);
    await b.run('PUT', `${PREFIX}/v-1`);
    await a.run('PUT', `${PREFIX}/v-2`);
    assert.equal(checker.calls.length, 3);
    checker.deny.add('v-1');
    const publisher = new Redis(redisUrl as string);
    after(() => publisher.quit());
    const receivers = await publisher.publish(
      ACCESS_INVALIDATION_CHANNEL,
      JSON.stringify({ tenantId: 't1', resourceType: 'venue', resourceId: 'v-1' }),
    );
    assert.ok(receivers >= 2, `${receivers} subscribers`);
    await waitFor(() => a.checks.stats.invalidated >= 1 && b.checks.stats.invalidated >= 1);
    assertDenied(await a.run('PUT', `${PREFIX}/v-1`), 'denied');
    assertDenied(await b.run('PUT', `${PREFIX}/v-1`), 'denied');
    assert.equal((await a.run('PUT', `${PREFIX}/v-2`)).error, undefined);
    assert.equal(checker.calls.length, 5, 'v-2 stayed cached on a');
    // A message that is not a valid filter drops everything rather than guess.
    await publisher.publish(ACCESS_INVALIDATION_CHANNEL, '{"resourceId": 42}');
    await waitFor(() => a.checks.status().cache.entries === 0 && b.checks.status().cache.entries === 0);
    assert.ok(a.logs.lines.some((l) => String(l.msg).includes('malformed invalidation')));
  });

  it('drops the whole cache when a lost subscription comes back', { skip }, async () => {
    const s = await setup({ settings: { redisUrl } });
    s.checks.start();
    assert.ok(await s.checks.subscribed());
    await s.run('PUT', `${PREFIX}/v-1`);
    assert.equal(s.checks.status().cache.entries, 1);
    const admin = new Redis(redisUrl as string);
    after(() => admin.quit());
    // Cut this instance's subscriber connection (and only it: other tests may share the server).
    const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
      .split('\n')
      .filter((line) => line.includes(`name=${ACCESS_REDIS_CONNECTION_NAME}`));
    assert.ok(clients.length >= 1, 'the subscriber is connected under its name');
    for (const line of clients) {
      const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
      if (id !== undefined) await admin.call('CLIENT', 'KILL', 'ID', id);
    }
    await waitFor(() => s.logs.lines.some((l) => String(l.msg).includes('redis back')), 10_000);
    assert.equal(s.checks.status().cache.entries, 0, 'what it may have missed cannot stay cached');
    assert.ok(await s.checks.subscribed());
    s.checker.deny.add('v-1');
    assertDenied(await s.run('PUT', `${PREFIX}/v-1`), 'denied');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
