import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { ensureDevKey, KeyRing, readKeyDir, rotateKeyDir, toSigningKey } from '../src/domain/keys.ts';
import { createAccessTokenIssuer } from '../src/domain/tokens.ts';

const ring = (dir: string) => new KeyRing(readKeyDir(dir).map(toSigningKey), 900);

test('rotation publishes the new key before it signs and keeps the old one until its tokens expired', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-keys-'));
  const t0 = Math.floor(Date.now() / 1000);
  const [first] = ensureDevKey(dir, t0 - 10);
  assert.deepEqual(
    ensureDevKey(dir).map((k) => k.kid),
    [first?.kid],
    'kept, not regenerated',
  );
  const { added, retired } = rotateKeyDir(dir, 600, 900, t0);
  assert.deepEqual(retired, [first?.kid]);
  let keys = ring(dir);
  // Published at once, not yet signing.
  assert.deepEqual(
    keys
      .jwks(t0)
      .keys.map((k) => k.kid)
      .sort(),
    [first?.kid, added.kid].sort(),
  );
  assert.equal(keys.current(t0).kid, first?.kid);
  // After the lead time the new key signs; the old one is still published for its live tokens.
  assert.equal(keys.current(t0 + 601).kid, added.kid);
  assert.ok(keys.jwks(t0 + 601).keys.some((k) => k.kid === first?.kid));
  // Once every token of the old key has expired, it leaves the JWKS.
  assert.ok(!keys.jwks(t0 + 600 + 900 + 61).keys.some((k) => k.kid === first?.kid));

  const issuer = createAccessTokenIssuer(keys, { issuer: 'iss', audience: 'aud', ttlSeconds: 600 });
  const token = await issuer.issue({ sub: 'u', tid: 't', roles: ['member'] }, 0);
  assert.equal(decodeProtectedHeader(token.token).kid, first?.kid);
  const { payload } = await jwtVerify(token.token, createLocalJWKSet(keys.jwks()), {
    issuer: 'iss',
    audience: 'aud',
  });
  assert.equal(payload.exp! - payload.iat!, 600);
  keys = ring(dir);
});

test('a token is never issued before the user not-before watermark', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-keys-'));
  ensureDevKey(dir);
  const issuer = createAccessTokenIssuer(ring(dir), { issuer: 'i', audience: 'a', ttlSeconds: 600 });
  const future = Math.floor(Date.now() / 1000) + 1;
  const token = await issuer.issue({ sub: 'u', tid: 't', roles: [] }, future);
  assert.equal(token.iat, future);
});
