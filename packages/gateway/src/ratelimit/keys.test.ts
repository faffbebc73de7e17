import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddressKey, rateLimitKey } from './keys.ts';

describe('rateLimitKey', () => {
  it('keys a verified caller by tenant and user', () => {
    assert.equal(rateLimitKey({ tid: 't1', sub: 'u1' }, '192.0.2.1'), 'tenant:t1:user:u1');
  });

  it('keys an anonymous caller by client address', () => {
    assert.equal(rateLimitKey(undefined, '192.0.2.1'), 'ip:192.0.2.1');
  });

  it('adds the route for a route with its own limit', () => {
    assert.equal(
      rateLimitKey({ tid: 't1', sub: 'u1' }, '192.0.2.1', '/auth/sign-in'),
      'tenant:t1:user:u1:route:%2Fauth%2Fsign-in',
    );
    assert.equal(
      rateLimitKey(undefined, '192.0.2.1', '/auth/sign-in'),
      'ip:192.0.2.1:route:%2Fauth%2Fsign-in',
    );
  });

  it('cannot be made to collide through colons in the claims', () => {
    const a = rateLimitKey({ tid: 'a:user:b', sub: 'c' }, '192.0.2.1');
    const b = rateLimitKey({ tid: 'a', sub: 'b:user:c' }, '192.0.2.1');
    assert.notEqual(a, b);
    assert.equal(a, 'tenant:a%3Auser%3Ab:user:c');
  });

  it('ignores the address when the caller is verified (one user, many addresses, one bucket)', () => {
    assert.equal(
      rateLimitKey({ tid: 't', sub: 'u' }, '192.0.2.1'),
      rateLimitKey({ tid: 't', sub: 'u' }, '2001:db8::1'),
    );
  });
});

describe('clientAddressKey', () => {
  it('keeps IPv4 as it is', () => {
    assert.equal(clientAddressKey('203.0.113.9'), '203.0.113.9');
  });

  it('limits IPv6 per /64, however the address is written', () => {
    assert.equal(clientAddressKey('2001:db8:0:1::1'), '2001:db8:0:1::/64');
    assert.equal(clientAddressKey('2001:0DB8:0000:0001:ffff:0:0:2'), '2001:db8:0:1::/64');
    assert.equal(clientAddressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientAddressKey('::1'), '0:0:0:0::/64');
    assert.equal(clientAddressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientAddressKey('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64');
    assert.notEqual(clientAddressKey('2001:db8:0:1::1'), clientAddressKey('2001:db8:0:2::1'));
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address', () => {
    assert.equal(clientAddressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(clientAddressKey('::ffff:c000:201'), '192.0.2.1');
  });

  it('encodes anything that is not an address, and names the empty one', () => {
    assert.equal(clientAddressKey(''), 'unknown');
    assert.equal(clientAddressKey('not an ip:x'), 'not%20an%20ip%3Ax');
  });
});
