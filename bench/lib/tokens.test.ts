import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeProtectedHeader, importJWK, type JWK, jwtVerify } from 'jose';
import { AUDIENCE, createSigner, createUserSigner, ISSUER, tokenPool } from './tokens.ts';

for (const alg of ['EdDSA', 'HS256'] as const) {
  test(`${alg} tokens verify with jose under the gateway's rules`, async () => {
    const signer = createSigner(alg);
    const pool = tokenPool(signer, 50);
    assert.equal(new Set(pool).size, 50);
    const token = pool[7] as string;
    const key =
      alg === 'HS256'
        ? new TextEncoder().encode(signer.env.JWT_SECRET)
        : await importJWK((signer.authKeys.keys as JWK[])[0] as JWK, 'EdDSA');
    const { payload } = await jwtVerify(token, key, {
      algorithms: [alg],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
    });
    assert.equal(typeof payload.tid, 'string');
    assert.deepEqual(payload.roles, ['member']);
    assert.ok((payload.exp as number) - (payload.iat as number) <= 900);
    assert.equal(decodeProtectedHeader(token).typ, 'at+jwt');
  });
}

test('the EdDSA config carries a public JWK only', () => {
  const [jwk] = createSigner('EdDSA').authKeys.keys as Record<string, unknown>[];
  assert.equal(jwk?.kty, 'OKP');
  assert.equal(jwk?.alg, 'EdDSA');
  assert.equal(jwk?.d, undefined);
});

test('user tokens carry the given subject and tenant, each with its own jti, and verify with the config key', async () => {
  const signer = createUserSigner();
  const user = {
    sub: '0b4c6a3e-1111-4222-8333-944445555666',
    tid: '7d0e1f2a-aaaa-4bbb-8ccc-dddddddddddd',
    roles: ['owner'],
  };
  const [a, b] = [signer.signFor(user), signer.signFor(user)];
  assert.notEqual(a, b);
  const [jwk] = signer.authKeys.keys as JWK[];
  assert.equal(jwk?.d, undefined);
  const key = await importJWK(jwk as JWK, 'EdDSA');
  const { payload, protectedHeader } = await jwtVerify(a as string, key, {
    algorithms: ['EdDSA'],
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: 'at+jwt',
  });
  assert.equal(protectedHeader.kid, jwk?.kid);
  assert.equal(payload.sub, user.sub);
  assert.equal(payload.tid, user.tid);
  assert.deepEqual(payload.roles, ['owner']);
  assert.notEqual(payload.jti, (await jwtVerify(b as string, key, { algorithms: ['EdDSA'] })).payload.jti);
});
