import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEvent, RevocationList } from './list.ts';

const token = { jti: 'j1', sub: 'u1', tid: 't1', iat: 1_000 };

describe('RevocationList', () => {
  it('revokes by jti, by user watermark and by tenant watermark', () => {
    const list = new RevocationList(900);
    assert.equal(list.isRevoked(token), false);
    list.apply({ type: 'jti', jti: 'j1', exp: 2_000 });
    assert.equal(list.isRevoked(token), true);
    assert.equal(list.isRevoked({ ...token, jti: 'j2' }), false);
    list.apply({ type: 'user', sub: 'u1', notBefore: 1_500 });
    assert.equal(list.isRevoked({ ...token, jti: 'j2' }), true, 'issued before the watermark');
    assert.equal(list.isRevoked({ ...token, jti: 'j2', iat: 1_500 }), false, 'issued at the watermark');
    list.apply({ type: 'user', sub: 'u1', notBefore: 1_200 });
    assert.equal(list.isRevoked({ ...token, jti: 'j2', iat: 1_400 }), true, 'a watermark never moves back');
    list.apply({ type: 'tenant', tid: 't9', notBefore: 3_000 });
    assert.equal(list.isRevoked({ jti: 'x', sub: 'u9', tid: 't9', iat: 2_999 }), true);
    assert.equal(list.isRevoked({ jti: 'x', sub: 'u9', tid: 't8', iat: 2_999 }), false);
    assert.equal(list.size, 3);
  });

  it('prunes what can no longer match a live token', () => {
    const list = new RevocationList(900);
    list.apply({ type: 'jti', jti: 'old', exp: 100 });
    list.apply({ type: 'jti', jti: 'live', exp: 5_000 });
    list.apply({ type: 'user', sub: 'old', notBefore: 100 });
    list.apply({ type: 'tenant', tid: 'live', notBefore: 4_500 });
    assert.equal(list.prune(4_600), 2);
    assert.equal(list.size, 2);
    assert.equal(list.isRevoked({ jti: 'live', sub: 's', tid: 't', iat: 4_000 }), true);
  });
});

describe('parseEvent', () => {
  it('accepts the three event types and refuses anything else', () => {
    assert.deepEqual(parseEvent({ type: 'jti', jti: 'a', exp: 5 }), { type: 'jti', jti: 'a', exp: 5 });
    assert.deepEqual(parseEvent({ type: 'user', sub: 'u', notBefore: 5 }), {
      type: 'user',
      sub: 'u',
      notBefore: 5,
    });
    assert.deepEqual(parseEvent({ type: 'tenant', tid: 't', notBefore: 5 }), {
      type: 'tenant',
      tid: 't',
      notBefore: 5,
    });
    for (const bad of [
      null,
      'x',
      {},
      { type: 'jti', jti: '', exp: 5 },
      { type: 'user', sub: 'u', notBefore: '5' },
      { type: 'tenant', tid: 't', notBefore: 1.5 },
      { type: 'all' },
    ]) {
      assert.equal(parseEvent(bad), undefined, JSON.stringify(bad));
    }
  });
});
