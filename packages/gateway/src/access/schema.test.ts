import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessRuleTable, actionFor, compileAccessRule } from './rules.ts';
import {
  type AccessCheckConfig,
  accessChecksSchema,
  accessCrossReferenceIssues,
  accessSettingsSchema,
} from './schema.ts';

const venueCheck = {
  rule: 'PUT,PATCH,DELETE /:venueId/**',
  resource: 'venue',
  param: 'venueId',
  action: 'write',
  checker: 'venue-access',
};

function issuesOf(result: {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}) {
  assert.equal(result.success, false);
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('access config', () => {
  it('accepts the documented example and fills the defaults', () => {
    const checks = accessChecksSchema.parse([venueCheck, { ...venueCheck, action: undefined }]);
    assert.equal(checks.length, 2);
    assert.equal(checks[1]?.action, undefined);
    const settings = accessSettingsSchema.parse({
      checkers: { 'venue-access': { url: 'http://venue:3002/internal/access' } },
    });
    assert.deepEqual(settings.cache, { allowTtlSeconds: 600, denyTtlSeconds: 30, maxEntries: 100_000 });
    const checker = settings.checkers['venue-access'];
    assert.equal(checker?.timeoutMs, 3_000);
    assert.equal(checker?.breaker.minimumRequests, 20);
    assert.equal(settings.redisUrl, undefined);
    assert.deepEqual(accessChecksSchema.parse(undefined), []);
  });

  it('refuses a param the rule does not declare, or one after **', () => {
    const missing = issuesOf(accessChecksSchema.safeParse([{ ...venueCheck, param: 'id' }]));
    assert.ok(
      missing.some((i) => i.includes('param') && i.includes('no :id segment')),
      missing.join('\n'),
    );
    const afterRest = issuesOf(accessChecksSchema.safeParse([{ ...venueCheck, rule: 'GET /**/:venueId' }]));
    assert.ok(
      afterRest.some((i) => i.includes('must come before **')),
      afterRest.join('\n'),
    );
    // A `*` path has no params at all.
    issuesOf(accessChecksSchema.safeParse([{ ...venueCheck, rule: 'GET *' }]));
    // `venueId` as a literal segment is not a param.
    issuesOf(accessChecksSchema.safeParse([{ ...venueCheck, rule: 'GET /venueId' }]));
  });

  it('refuses unknown keys, bad methods, bad names and bad URLs', () => {
    issuesOf(accessChecksSchema.safeParse([{ ...venueCheck, extra: true }]));
    issuesOf(accessChecksSchema.safeParse([{ ...venueCheck, rule: 'FETCH /:venueId' }]));
    issuesOf(accessChecksSchema.safeParse([{ ...venueCheck, rule: 'get /:venueId' }]));
    issuesOf(accessChecksSchema.safeParse([{ ...venueCheck, resource: 'Venue' }]));
    issuesOf(accessChecksSchema.safeParse([{ ...venueCheck, checker: 'Venue_Access' }]));
    issuesOf(accessSettingsSchema.safeParse({ checkers: { v: { url: 'ftp://venue/x' } } }));
    issuesOf(accessSettingsSchema.safeParse({ checkers: { v: { url: 'http://user:pw@venue/x' } } }));
    issuesOf(accessSettingsSchema.safeParse({ checkers: { v: { url: 'http://venue/x', timeoutMs: 10 } } }));
    issuesOf(accessSettingsSchema.safeParse({ checkers: {}, redisUrl: 'http://redis:6379' }));
    issuesOf(accessSettingsSchema.safeParse({ checkers: {}, cache: { maxEntries: 0 } }));
    issuesOf(accessSettingsSchema.safeParse({ checkers: {}, cache: { allowTTL: 5 } }));
  });

  it('reports routes naming undeclared checkers', () => {
    const routes = [{ prefix: '/a', access: [venueCheck] }, { prefix: '/b' }];
    assert.deepEqual(
      accessCrossReferenceIssues({ routes, access: { checkers: { 'venue-access': {} } } }),
      [],
    );
    const unknown = accessCrossReferenceIssues({ routes, access: { checkers: { other: {} } } });
    assert.equal(unknown.length, 1);
    assert.match(unknown[0] as string, /routes\[0\]\.access\[0\]\.checker: unknown checker "venue-access"/);
    const noBlock = accessCrossReferenceIssues({ routes });
    assert.match(noBlock[0] as string, /needs an access block/);
  });
});

describe('access rules', () => {
  it('compiles the param position and derives the default action from the method', () => {
    const rule = compileAccessRule({
      ...venueCheck,
      rule: 'GET /orgs/:orgId/venues/:venueId',
    } as AccessCheckConfig);
    assert.equal(rule.paramIndex, 3);
    assert.equal(rule.resourceType, 'venue');
    for (const m of ['GET', 'HEAD', 'OPTIONS']) assert.equal(actionFor(m), 'read');
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) assert.equal(actionFor(m), 'write');
    assert.throws(() => compileAccessRule({ ...venueCheck, param: 'nope' } as AccessCheckConfig));
  });

  it('finds a route rules by its id', () => {
    const table = new AccessRuleTable([
      { prefix: '/api/v1/venues', access: accessChecksSchema.parse([venueCheck]) },
      { prefix: '/api/v1/other' },
    ]);
    assert.equal(table.size, 1);
    assert.equal(table.for({ id: '/api/v1/venues' } as never).length, 1);
    assert.equal(table.for({ id: '/api/v1/other' } as never).length, 0);
    assert.deepEqual([...table.checkers()], ['venue-access']);
  });
});
