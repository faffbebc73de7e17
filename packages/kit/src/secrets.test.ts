import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MIN_SECRET_BYTES, secretWeakness } from './secrets.ts';

describe('secretWeakness', () => {
  it('accepts a random 32-byte base64url secret', () => {
    for (let i = 0; i < 20; i++) {
      assert.equal(secretWeakness(randomBytes(32).toString('base64url')), undefined);
    }
  });

  it('refuses well-known defaults whatever their case and surrounding spaces', () => {
    for (const value of ['secret', 'changeme', 'CHANGEME', '  keyboard cat  ', 'your-256-bit-secret']) {
      assert.equal(secretWeakness(value), 'is a well-known default', value);
    }
    assert.equal(
      secretWeakness('Your-Super-Secret-JWT-Key-Change-This-In-Production'),
      'is a well-known default',
    );
  });

  it('refuses anything shorter than 32 bytes, counting bytes and not characters', () => {
    assert.equal(MIN_SECRET_BYTES, 32);
    const short = randomBytes(32).toString('base64url').slice(0, 31);
    assert.equal(secretWeakness(short), 'must be at least 32 bytes');
    assert.equal(secretWeakness(''), 'must be at least 32 bytes');
    // 16 characters of 2 bytes each: 32 bytes of UTF-8, and varied enough.
    const twoByteChars = 'àáâãäåæçèéêëìíîï';
    assert.equal(twoByteChars.length, 16);
    assert.equal(secretWeakness(twoByteChars), undefined);
    assert.equal(secretWeakness(twoByteChars.slice(1)), 'must be at least 32 bytes');
  });

  it('refuses long values with too little variety', () => {
    assert.equal(secretWeakness('a'.repeat(64)), 'has too little variety to be random');
    assert.equal(secretWeakness('0123456780123456780123456780123456'), 'has too little variety to be random');
    assert.equal(secretWeakness('01234567890123456789012345678901'), undefined);
  });

  it('refuses long values that merely embed a well-known default', () => {
    const embedded = `xQ9${'gatehouse-development-secret-do-not-use-in-prod'}Zr7`;
    assert.equal(secretWeakness(embedded), 'contains a well-known default');
    assert.equal(secretWeakness('MY-YOUR-256-BIT-SECRET-0123456789'), 'contains a well-known default');
  });

  it('does not refuse a random secret for containing a short well-known word', () => {
    // "secret" (6 chars) is too short to count when embedded.
    const value = `secret${randomBytes(32).toString('base64url')}`;
    assert.equal(secretWeakness(value), undefined);
  });
});
