import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  entitlementFields,
  entitlementKey,
  entitlementPath,
  FREE_ENTITLEMENT,
  internalUserPath,
  parseEntitlement,
  parseEntitlementAnswer,
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

  it('billing’s JSON answer reads by the hash’s rules: what is not said is the free plan’s, never unlimited', () => {
    const record = {
      tier: 'premium' as const,
      seats: 250,
      messageQuota: null,
      quotaPeriodDays: 30,
      historyRetentionDays: null,
      features: ['search', 'guest-access'],
    };
    // As billing answers it: the record plus its own fields.
    const answer = { ...record, tenantId: 't1', plan: 'premium', status: 'active', version: 3 };
    assert.deepEqual(parseEntitlementAnswer('t1', answer), record);
    assert.equal(entitlementPath('a/b'), '/internal/entitlements/a%2Fb');
    for (const broken of [null, 'premium', [answer], {}, { tenantId: 't1' }, { ...answer, tenantId: 't2' }])
      assert.equal(parseEntitlementAnswer('t1', broken), undefined, JSON.stringify(broken));
    // Wrong types take the free plan's value: a quota is null (unlimited) only when it says null.
    assert.deepEqual(
      parseEntitlementAnswer('t1', {
        tenantId: 't1',
        tier: ['premium'],
        seats: '250',
        messageQuota: 'unlimited',
        historyRetentionDays: undefined,
        features: ['search', 'a,b', 7],
      }),
      { ...FREE_ENTITLEMENT, features: ['search'] },
    );
    assert.deepEqual(parseEntitlementAnswer('t1', { tenantId: 't1', tier: 'standard', seats: 2.5 }), {
      ...FREE_ENTITLEMENT,
      tier: 'standard',
    });
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
