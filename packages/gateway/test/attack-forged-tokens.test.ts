import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CompactSign } from 'jose';
import {
  AUDIENCE,
  generateTestKeys,
  ISSUER,
  problemOf,
  rawGet,
  rawRequest,
  signToken,
  startTestGateway,
  type TestGateway,
  type TestKeys,
} from './harness.ts';

/**
 * Attack: get past authentication with a token the identity service did not
 * issue, or issued under other terms. Every such token is a 401
 * GW_INVALID_TOKEN with the same body and challenge whatever the cause, and
 * the upstream never sees the request.
 */

const INVALID_CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"';
const PLAIN_CHALLENGE = 'Bearer realm="gatehouse"';

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = now();
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    tid: 'tenant-1',
    roles: ['member'],
    jti: randomUUID(),
    iat,
    exp: iat + 600,
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

/** Signs exactly the header and payload given (jose adds nothing). */
async function signRaw(keys: TestKeys, header: Record<string, unknown>, payload: Record<string, unknown>) {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string })
    .sign(keys.privateKey);
}

function hs256(
  secret: Buffer | string,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function withoutRequestId(body: Record<string, unknown>): Record<string, unknown> {
  const { requestId, ...rest } = body;
  assert.equal(typeof requestId, 'string');
  return rest;
}

describe('attack: forged and out-of-terms access tokens', () => {
  let gw: TestGateway;
  let keys: TestKeys;
  let attacker: TestKeys;
  let reference: Record<string, unknown>;

  before(async () => {
    gw = await startTestGateway();
    keys = gw.keys;
    attacker = await generateTestKeys('EdDSA', keys.kid);
    const first = await fetch(`${gw.url}/api/items`, { headers: { authorization: 'Bearer garbage' } });
    assert.equal(first.status, 401);
    reference = withoutRequestId(await problemOf(first));
    assert.equal(reference.code, 'GW_INVALID_TOKEN');
  });
  after(() => gw.close());

  it('accepts a well-formed token (the control case: the attacks below are refused for their flaw)', async () => {
    const res = await fetch(`${gw.url}/api/items`, {
      headers: { authorization: `Bearer ${await gw.token()}` },
    });
    assert.equal(res.status, 200);
    assert.equal(gw.upstream.seen.at(-1)?.url, '/api/items');
  });

  const header = (keysOf: () => TestKeys, extra: Record<string, unknown> = {}) => ({
    alg: 'EdDSA',
    typ: 'at+jwt',
    kid: keysOf().kid,
    ...extra,
  });

  const attacks: [string, () => Promise<string>][] = [
    [
      'alg none, unsigned',
      async () => `${b64({ alg: 'none', typ: 'at+jwt', kid: keys.kid })}.${b64(claims())}.`,
    ],
    [
      'alg none with a made-up signature',
      async () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.AAAA`,
    ],
    [
      'HS256 signed with the public key JSON (key confusion)',
      async () =>
        hs256(JSON.stringify(keys.publicJwk), { alg: 'HS256', typ: 'at+jwt', kid: keys.kid }, claims()),
    ],
    [
      'HS256 signed with the raw public key bytes, no kid (key confusion)',
      async () =>
        hs256(
          Buffer.from(keys.publicJwk.x as string, 'base64url'),
          { alg: 'HS256', typ: 'at+jwt' },
          claims(),
        ),
    ],
    ['wrong issuer', () => signToken(keys, { iss: 'https://evil.example' })],
    ['wrong audience', () => signToken(keys, { aud: 'another-api' })],
    ['expired (beyond the leeway)', () => signToken(keys, { iat: now() - 1200, exp: now() - 300 })],
    [
      'not yet valid: iat five minutes in the future',
      () => signToken(keys, { iat: now() + 300, exp: now() + 900 }),
    ],
    [
      'not yet valid: iat a year in the future',
      () => signToken(keys, { iat: now() + 365 * 86_400, exp: now() + 365 * 86_400 + 600 }),
    ],
    ['not yet valid: nbf in the future', () => signToken(keys, { extraClaims: { nbf: now() + 300 } })],
    ['lifetime longer than 15 minutes', () => signToken(keys, { iat: now(), exp: now() + 901 + 60 })],
    ['typ missing', () => signRaw(keys, { alg: 'EdDSA', kid: keys.kid }, claims())],
    ['typ JWT', () => signToken(keys, { typ: 'JWT' })],
    ['signed by another key with the same kid', () => signToken(attacker)],
    ['unknown kid', () => signToken(keys, { kid: 'no-such-key' })],
    ['no kid', () => signToken(keys, { kid: null })],
    [
      'embedded jwk of the attacker key',
      () =>
        signRaw(
          attacker,
          header(() => attacker, { jwk: attacker.publicJwk }),
          claims(),
        ),
    ],
    [
      'embedded jwk (signed by the real key)',
      () =>
        signRaw(
          keys,
          header(() => keys, { jwk: keys.publicJwk }),
          claims(),
        ),
    ],
    [
      'jku header',
      () =>
        signRaw(
          keys,
          header(() => keys, { jku: 'https://evil.example/jwks.json' }),
          claims(),
        ),
    ],
    [
      'x5c header',
      () =>
        signRaw(
          keys,
          header(() => keys, { x5c: ['MIIBszCCAVmgAwIBAgIUb3Rh'] }),
          claims(),
        ),
    ],
    [
      'missing sub',
      () =>
        signRaw(
          keys,
          header(() => keys),
          claims({ sub: undefined }),
        ),
    ],
    [
      'missing tid',
      () =>
        signRaw(
          keys,
          header(() => keys),
          claims({ tid: undefined }),
        ),
    ],
    [
      'missing jti',
      () =>
        signRaw(
          keys,
          header(() => keys),
          claims({ jti: undefined }),
        ),
    ],
    [
      'missing roles',
      () =>
        signRaw(
          keys,
          header(() => keys),
          claims({ roles: undefined }),
        ),
    ],
    [
      'missing exp',
      () =>
        signRaw(
          keys,
          header(() => keys),
          claims({ exp: undefined }),
        ),
    ],
    [
      'missing iss',
      () =>
        signRaw(
          keys,
          header(() => keys),
          claims({ iss: undefined }),
        ),
    ],
    [
      'roles not an array',
      () =>
        signRaw(
          keys,
          header(() => keys),
          claims({ roles: 'admin' }),
        ),
    ],
    [
      'tid not a string',
      () =>
        signRaw(
          keys,
          header(() => keys),
          claims({ tid: 42 }),
        ),
    ],
    ['oversize token (> maxTokenBytes)', () => signToken(keys, { extraClaims: { pad: 'x'.repeat(5_000) } })],
    ['garbage with two dots', async () => 'aaa.bbb.ccc'],
    [
      'signature stripped from a real token',
      async () => `${(await gw.token()).split('.').slice(0, 2).join('.')}.`,
    ],
    [
      'payload swapped into a real token (roles: admin)',
      async () => {
        const [h, , s] = (await gw.token()).split('.');
        return `${h}.${b64(claims({ roles: ['admin'] }))}.${s}`;
      },
    ],
  ];

  for (const [name, make] of attacks) {
    it(`refuses ${name}: 401 GW_INVALID_TOKEN, same body, upstream untouched`, async () => {
      const token = await make();
      const arrived = gw.upstream.arrived.length;
      const res = await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), INVALID_CHALLENGE);
      assert.deepEqual(withoutRequestId(await problemOf(res)), reference);
      assert.equal(gw.upstream.arrived.length, arrived, 'the upstream saw the request');
    });
  }

  it('refuses the Basic scheme with the invalid-token answer', async () => {
    const res = await fetch(`${gw.url}/api/items`, {
      headers: { authorization: 'Basic dXNlcjpwYXNzd29yZA==' },
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), INVALID_CHALLENGE);
    assert.deepEqual(withoutRequestId(await problemOf(res)), reference);
  });

  it('refuses a valid token sent twice in two Authorization headers (raw socket)', async () => {
    const token = await gw.token();
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(
      gw.url,
      rawGet('/api/items', [`Authorization: Bearer ${token}`, `Authorization: Bearer ${token}`]),
    );
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], INVALID_CHALLENGE);
    assert.deepEqual(withoutRequestId(JSON.parse(res.body) as Record<string, unknown>), reference);
    assert.equal(gw.upstream.arrived.length, arrived);
  });

  it('refuses a valid token next to a garbage one in a second Authorization header (raw socket)', async () => {
    const token = await gw.token();
    const res = await rawRequest(
      gw.url,
      rawGet('/api/items', ['Authorization: Bearer garbage', `authorization: Bearer ${token}`]),
    );
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], INVALID_CHALLENGE);
  });

  it('answers a missing token with 401 GW_UNAUTHENTICATED and a plain Bearer challenge', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await fetch(`${gw.url}/api/items`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), PLAIN_CHALLENGE);
    const body = await problemOf(res);
    assert.equal(body.code, 'GW_UNAUTHENTICATED');
    assert.equal(body.status, 401);
    assert.equal(gw.upstream.arrived.length, arrived);
  });
});
