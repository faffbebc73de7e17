import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureLogger, randomSecret } from '@gatehouse/kit/testing';
import { SignJWT, UnsecuredJWT } from 'jose';
import { generateTestKeys, signToken } from '../../test/harness.ts';
import { loadGatewayConfig } from '../config/load.ts';
import { TokenRejected, TokenVerifier } from './verifier.ts';

const ISSUER = 'https://auth.test.gatehouse';
const ed = await generateTestKeys('EdDSA', 'ed-1');
const es = await generateTestKeys('ES256', 'es-1');
const rs = await generateTestKeys('RS256', 'rs-1');
const other = await generateTestKeys('EdDSA', 'ed-1');
const now = () => Math.floor(Date.now() / 1000);

async function verifier(auth: Record<string, unknown> = {}) {
  const { config } = loadGatewayConfig(
    {
      auth: {
        issuer: ISSUER,
        audience: 'gatehouse',
        keys: [ed.publicJwk, es.publicJwk, rs.publicJwk],
        ...auth,
      },
      assertion: { keys: [{ kid: 'gw1', secret: randomSecret() }] },
      upstreams: { a: { url: 'http://127.0.0.1:1' } },
      routes: [{ prefix: '/', upstream: 'a' }],
    },
    {},
    'test',
  );
  const v = new TokenVerifier(config.auth, captureLogger().logger);
  await v.start();
  return v;
}

async function reason(v: TokenVerifier, token: string): Promise<string> {
  try {
    await v.verify(token);
  } catch (err) {
    assert.ok(err instanceof TokenRejected, `expected a rejection, got ${String(err)}`);
    return err.reason;
  }
  return 'accepted';
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('TokenVerifier', () => {
  it('accepts EdDSA, ES256 and RS256 tokens signed by configured keys', async () => {
    const v = await verifier();
    for (const keys of [ed, es, rs]) {
      const identity = await v.verify(
        await signToken(keys, { sub: `u-${keys.kid}`, roles: ['admin', 'member'] }),
      );
      assert.equal(identity.sub, `u-${keys.kid}`);
      assert.deepEqual(identity.roles, ['admin', 'member']);
    }
    assert.equal(v.status().source, 'static');
    assert.equal(v.usable, true);
  });

  it('refuses forged and malformed tokens, each for its reason', async () => {
    const v = await verifier();
    const t = now();
    const unsigned = new UnsecuredJWT({ sub: 'u', tid: 't', roles: [], jti: 'j' })
      .setIssuer(ISSUER)
      .setAudience('gatehouse')
      .setIssuedAt()
      .setExpirationTime('5m')
      .encode();
    // Key confusion: HS256 with the public key's bytes as the HMAC secret.
    const confused = await new SignJWT({ sub: 'u', tid: 't', roles: ['admin'], jti: 'j' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: ed.kid })
      .setIssuer(ISSUER)
      .setAudience('gatehouse')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(ed.publicJwk)));
    const valid = await signToken(ed);
    const [h, p, s] = valid.split('.') as [string, string, string];
    const tampered = `${h}.${b64({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), roles: ['owner'] })}.${s}`;
    const cases: [string, string][] = [
      [unsigned, 'malformed'],
      [`${b64({ alg: 'none', typ: 'at+jwt', kid: ed.kid })}.${p}.${s}`, 'alg_mismatch'],
      [confused, 'alg_mismatch'],
      [await signToken(es, { kid: ed.kid, alg: 'ES256' }), 'alg_mismatch'],
      [tampered, 'bad_signature'],
      [await signToken(other), 'bad_signature'],
      [await signToken(ed, { iss: 'https://evil.example' }), 'wrong_issuer'],
      [await signToken(ed, { aud: 'another-api' }), 'wrong_audience'],
      [await signToken(ed, { iat: t - 7200, exp: t - 3600 }), 'expired'],
      [await signToken(ed, { iat: t + 3600, exp: t + 3900 }), 'not_yet_valid'],
      [await signToken(ed, { iat: t, exp: t + 3600 }), 'lifetime_too_long'],
      [await signToken(ed, { extraClaims: { nbf: t + 3600 } }), 'not_yet_valid'],
      [await signToken(ed, { extraClaims: { nbf: 'soon' } }), 'bad_claims'],
      [await signToken(ed, { typ: 'JWT' }), 'bad_type'],
      [await signToken(ed, { extraHeader: { typ: undefined } }), 'bad_type'],
      [await signToken(ed, { kid: 'nobody' }), 'unknown_kid'],
      [await signToken(ed, { kid: null }), 'unknown_kid'],
      [await signToken(ed, { kid: 'x'.repeat(200) }), 'malformed'],
      [await signToken(ed, { extraHeader: { jwk: ed.publicJwk } }), 'embedded_key'],
      [await signToken(ed, { extraHeader: { jku: 'https://evil/jwks' } }), 'embedded_key'],
      [await signToken(ed, { extraHeader: { x5c: ['MIIB'] } }), 'embedded_key'],
      [await signToken(ed, { extraClaims: { tid: 42 } }), 'bad_claims'],
      [await signToken(ed, { extraClaims: { roles: 'admin' } }), 'bad_claims'],
      [
        await signToken(ed, { extraClaims: { roles: Array.from({ length: 65 }, (_, i) => `r${i}`) } }),
        'bad_claims',
      ],
      [await signToken(ed, { sub: '' }), 'bad_claims'],
      ['not-a-token', 'malformed'],
      ['a.b.c', 'malformed'],
      [`${b64({ alg: 'EdDSA' })}.e30.${s}`, 'bad_type'],
      ['x'.repeat(5000), 'too_large'],
    ];
    for (const [token, expected] of cases) assert.equal(await reason(v, token), expected, token.slice(0, 60));
  });

  it('requires sub, jti and iat', async () => {
    const v = await verifier();
    const sign = (claims: Record<string, unknown>, iat = true) => {
      const jwt = new SignJWT({ tid: 't', roles: [], ...claims })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: ed.kid })
        .setIssuer(ISSUER)
        .setAudience('gatehouse')
        .setExpirationTime('5m');
      return (iat ? jwt.setIssuedAt() : jwt).sign(ed.privateKey);
    };
    assert.equal(await reason(v, await sign({ sub: 'u' })), 'bad_claims');
    assert.equal(await reason(v, await sign({ jti: 'j' })), 'bad_claims');
    assert.equal(await reason(v, await sign({ sub: 'u', jti: 'j' }, false)), 'bad_claims');
    assert.equal(await reason(v, await sign({ sub: 'u', jti: 'j' })), 'accepted');
  });

  it('keeps verified tokens by their exact string until they expire, bounded', async () => {
    const v = await verifier({ tokenCacheEntries: 2 });
    const a = await signToken(ed);
    const first = await v.verify(a);
    assert.equal(await v.verify(a), first, 'the second check is served from the cache');
    await v.verify(await signToken(ed));
    await v.verify(await signToken(ed));
    assert.equal(v.status().cachedTokens, 2);
    assert.notEqual(await v.verify(a), first, 'the oldest entry was evicted');
    // An entry past its expiry is checked again (and refused).
    const short = await signToken(ed, { iat: now() - 100, exp: now() + 1 });
    await v.verify(short);
    await assert.rejects(v.verify(short, Date.now() + 60_000), { reason: 'expired' });
  });

  it('verifies HS256 tokens with a configured secret, with or without kid', async () => {
    const secret = randomSecret();
    const v = await verifier({ keys: undefined, hs256Secret: secret });
    const key = new TextEncoder().encode(secret);
    const sign = (header: Record<string, string>) =>
      new SignJWT({ sub: 'u', tid: 't', roles: [], jti: 'j' })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', ...header })
        .setIssuer(ISSUER)
        .setAudience('gatehouse')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
    assert.equal((await v.verify(await sign({}))).sub, 'u');
    assert.equal((await v.verify(await sign({ kid: 'any' }))).sub, 'u');
    assert.equal(await reason(v, await signToken(ed, { kid: null })), 'alg_mismatch');
  });

  it('refuses to start with a configured key that may not be used', async () => {
    await assert.rejects(verifier({ keys: [{ ...ed.publicJwk, alg: 'HS256' }] }), /auth\.keys/);
  });
});
