import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import {
  AUDIENCE,
  generateTestKeys,
  ISSUER,
  problemOf,
  signToken,
  startTestGateway,
  type TestGateway,
} from './harness.ts';

/**
 * Attack: hand the gateway a token some other way than one Authorization
 * header (query string, cookie, a header some frameworks read), and, on a
 * gateway that verifies with an HS256 secret, tokens that abuse it.
 */

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function claims(): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-hs',
    tid: 't',
    roles: ['member'],
    jti: randomUUID(),
    iat,
    exp: iat + 600,
  };
}

function hmacToken(
  secret: string,
  header: Record<string, unknown>,
  payload = claims(),
  hash = 'sha256',
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

describe('attack: tokens through other channels', () => {
  let gw: TestGateway;
  let token: string;
  before(async () => {
    gw = await startTestGateway();
    token = await gw.token();
  });
  after(() => gw.close());

  const channels: [string, () => [string, Record<string, string>]][] = [
    ['query string access_token', () => [`/api/items?access_token=${token}`, {}]],
    ['cookie', () => ['/api/items', { cookie: `access_token=${token}; token=${token}` }]],
    ['x-access-token header', () => ['/api/items', { 'x-access-token': token }]],
    ['x-auth-token header', () => ['/api/items', { 'x-auth-token': `Bearer ${token}` }]],
    ['proxy-authorization header', () => ['/api/items', { 'proxy-authorization': `Bearer ${token}` }]],
  ];
  for (const [name, make] of channels) {
    it(`does not accept a token in the ${name}`, async () => {
      const [path, headers] = make();
      const arrived = gw.upstream.arrived.length;
      const res = await fetch(`${gw.url}${path}`, { headers });
      assert.equal(res.status, 401);
      assert.equal((await problemOf(res)).code, 'GW_UNAUTHENTICATED');
      assert.equal(gw.upstream.arrived.length, arrived);
    });
  }

  it('does not forward x-auth-token or proxy-authorization to the upstream of a public route', async () => {
    const res = await fetch(`${gw.url}/api/public/x`, {
      headers: { 'x-auth-token': token, 'proxy-authorization': `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.at(-1);
    assert.equal(seen?.headers['x-auth-token'], undefined);
    assert.equal(seen?.headers['proxy-authorization'], undefined);
  });
});

describe('attack: a gateway verifying with an HS256 secret', () => {
  const secret = randomSecret();
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      config: { auth: { issuer: ISSUER, audience: AUDIENCE, hs256Secret: secret } },
    });
  });
  after(() => gw.close());

  async function status(token: string): Promise<number> {
    const res = await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return res.status;
  }

  it('accepts a token signed with the secret (control)', async () => {
    assert.equal(await status(hmacToken(secret, { alg: 'HS256', typ: 'at+jwt' })), 200);
    assert.equal(gw.upstream.seen.at(-1)?.headers['x-user-id'], 'user-hs');
  });

  it('refuses a token signed with another secret', async () => {
    assert.equal(await status(hmacToken(randomSecret(), { alg: 'HS256', typ: 'at+jwt' })), 401);
  });

  it('refuses HS512 with the same secret (one algorithm per key)', async () => {
    assert.equal(await status(hmacToken(secret, { alg: 'HS512', typ: 'at+jwt' }, claims(), 'sha512')), 401);
  });

  it('refuses alg none and an asymmetric token with a made-up kid', async () => {
    assert.equal(await status(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`), 401);
    const attacker = await generateTestKeys('EdDSA', 'attacker-kid');
    assert.equal(await status(await signToken(attacker)), 401);
  });

  it('refuses a token signed with the secret but with the wrong typ', async () => {
    assert.equal(await status(hmacToken(secret, { alg: 'HS256', typ: 'JWT' })), 401);
  });
});
