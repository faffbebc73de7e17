import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  entitlementFields,
  entitlementKey,
  FREE_ENTITLEMENT,
  internalUserPath,
  parseEntitlement,
  parseRevocationEvent,
  parseTenantUsage,
  parseTier,
  tenantUsagePath,
} from './index.ts';

describe('wire contracts', () => {
  it('entitlement records round-trip through their Redis hash fields', () => {
    const record = {
      tier: 'premium' as const,
      seats: 50,
      messageQuota: null,
      quotaPeriodDays: 30,
      historyRetentionDays: null,
      features: ['search', 'guest-access'],
    };
    assert.deepEqual(parseEntitlement(entitlementFields(record)), record);
    assert.equal(entitlementKey('t1'), 'entitlement:t1');
  });

  it('a missing record is undefined; a half-written or hostile one never grants more than free', () => {
    assert.equal(parseEntitlement({}), undefined);
    assert.equal(parseEntitlement(null), undefined);
    const parsed = parseEntitlement({
      tier: 'platinum',
      seats: '-3',
      messageQuota: 'lots',
      features: 'a,<b>',
    });
    assert.deepEqual(parsed, { ...FREE_ENTITLEMENT, features: ['a'] });
    assert.equal(parseTier(' Standard '), 'standard');
  });

  it('revocation events parse strictly; user paths are encoded', () => {
    assert.deepEqual(parseRevocationEvent({ type: 'user', sub: 'u', notBefore: 9 }), {
      type: 'user',
      sub: 'u',
      notBefore: 9,
    });
    assert.equal(parseRevocationEvent({ type: 'user', sub: 'u', notBefore: 1.5 }), undefined);
    assert.equal(internalUserPath('a/b'), '/internal/users/a%2Fb');
  });

  it('a tenant usage answer parses strictly; tenant paths are encoded', () => {
    const usage = {
      tenantId: 't1',
      periodStart: '2026-12-01T00:00:00.000Z',
      periodEnd: '2027-01-01T00:00:00.000Z',
      messages: 12,
      messageQuota: 10_000,
      remaining: 9_988,
    };
    assert.deepEqual(parseTenantUsage(usage), usage);
    assert.deepEqual(parseTenantUsage({ ...usage, messageQuota: null, remaining: null, extra: 1 }), {
      ...usage,
      messageQuota: null,
      remaining: null,
    });
    for (const broken of [
      null,
      'usage',
      { ...usage, tenantId: '' },
      { ...usage, messages: -1 },
      { ...usage, messages: 1.5 },
      { ...usage, periodEnd: 'soon' },
      { ...usage, messageQuota: '10000' },
      { ...usage, remaining: undefined },
    ])
      assert.equal(parseTenantUsage(broken), undefined, JSON.stringify(broken));
    assert.equal(tenantUsagePath('a/b'), '/internal/usage/a%2Fb');
  });
});
