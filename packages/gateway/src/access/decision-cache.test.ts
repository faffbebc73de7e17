import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AccessQuery, DecisionCache, decisionKey } from './decision-cache.ts';

function query(overrides: Partial<AccessQuery> = {}): AccessQuery {
  return {
    checker: 'venue-access',
    tenantId: 't1',
    userId: 'u1',
    resourceType: 'venue',
    resourceId: 'v1',
    action: 'read',
    ...overrides,
  };
}

function cacheWithClock(options: { allowTtlMs?: number; denyTtlMs?: number; maxEntries?: number } = {}) {
  const clock = { now: 1_000_000 };
  const cache = new DecisionCache({
    allowTtlMs: options.allowTtlMs ?? 600_000,
    denyTtlMs: options.denyTtlMs ?? 30_000,
    maxEntries: options.maxEntries ?? 100,
    now: () => clock.now,
  });
  return { cache, clock };
}

function put(cache: DecisionCache, q: AccessQuery, allowed: boolean): string {
  const key = decisionKey(q);
  cache.set(key, q, allowed);
  return key;
}

describe('DecisionCache', () => {
  it('keeps allow and deny answers for their own lifetimes', () => {
    const { cache, clock } = cacheWithClock();
    const allowed = put(cache, query({ resourceId: 'a' }), true);
    const denied = put(cache, query({ resourceId: 'd' }), false);
    assert.equal(cache.get(allowed), true);
    assert.equal(cache.get(denied), false);
    clock.now += 30_000;
    assert.equal(cache.get(denied), undefined, 'the deny answer expired');
    assert.equal(cache.get(allowed), true);
    clock.now += 570_000;
    assert.equal(cache.get(allowed), undefined, 'the allow answer expired');
    assert.equal(cache.size, 0);
  });

  it('does not store answers whose TTL is 0', () => {
    const { cache } = cacheWithClock({ denyTtlMs: 0 });
    assert.equal(cache.get(put(cache, query(), false)), undefined);
    assert.equal(cache.size, 0);
  });

  it('keys every part separately, whatever characters the ids hold', () => {
    const a = decisionKey(query({ tenantId: 't","u', userId: 'x' }));
    const b = decisionKey(query({ tenantId: 't', userId: 'u","x' }));
    assert.notEqual(a, b);
    for (const field of ['checker', 'tenantId', 'userId', 'resourceType', 'resourceId', 'action'] as const) {
      assert.notEqual(decisionKey(query({ [field]: 'other' })), decisionKey(query()), field);
    }
  });

  it('stays within maxEntries, dropping the oldest first', () => {
    const { cache } = cacheWithClock({ maxEntries: 3 });
    const keys = ['1', '2', '3', '4', '5'].map((id) => put(cache, query({ userId: id }), true));
    assert.equal(cache.size, 3);
    assert.equal(cache.get(keys[0] as string), undefined);
    assert.equal(cache.get(keys[1] as string), undefined);
    assert.equal(cache.get(keys[4] as string), true);
    // Writing an existing key again makes it the newest.
    put(cache, query({ userId: '3' }), true);
    put(cache, query({ userId: '6' }), true);
    assert.equal(cache.get(keys[2] as string), true);
    assert.equal(cache.get(keys[3] as string), undefined);
  });

  it('drops what an invalidation filter matches, and only that', () => {
    const { cache } = cacheWithClock();
    const k1 = put(cache, query({ tenantId: 't1', userId: 'u1', resourceId: 'v1' }), true);
    const k2 = put(cache, query({ tenantId: 't1', userId: 'u2', resourceId: 'v1', action: 'write' }), false);
    const k3 = put(cache, query({ tenantId: 't1', userId: 'u1', resourceId: 'v2' }), true);
    const k4 = put(cache, query({ tenantId: 't2', userId: 'u1', resourceId: 'v1' }), true);
    const k5 = put(
      cache,
      query({ tenantId: 't1', userId: 'u1', resourceType: 'ticket', resourceId: 'v1' }),
      true,
    );
    assert.equal(cache.invalidate({ tenantId: 't1', resourceType: 'venue', resourceId: 'v1' }), 2);
    assert.equal(cache.get(k1), undefined);
    assert.equal(cache.get(k2), undefined);
    assert.equal(cache.get(k3), true);
    assert.equal(cache.get(k4), true);
    assert.equal(cache.get(k5), true);
    assert.equal(cache.invalidate({ userId: 'u1' }), 3);
    assert.equal(cache.size, 0);
    put(cache, query(), true);
    assert.equal(cache.invalidate({}), 1, 'an empty filter drops everything');
  });
});
