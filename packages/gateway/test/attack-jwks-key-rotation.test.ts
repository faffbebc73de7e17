import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type StartedServer, startHttpServer } from '@gatehouse/kit/testing';
import type { JWK } from 'jose';
import {
  AUDIENCE,
  generateTestKeys,
  ISSUER,
  signToken,
  startTestGateway,
  type TestGateway,
  type TestKeys,
} from './harness.ts';

/**
 * Attack: keep using a token signed with a key the identity service has
 * withdrawn from its JWKS (say, after a key leak). Once the gateway has
 * refetched the JWKS, tokens signed with the withdrawn key are refused, even
 * those it verified (and cached) before.
 */

async function status(gw: TestGateway, token: string): Promise<number> {
  const res = await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

/** Past the cooldown, an unknown kid makes the gateway refetch the JWKS. */
async function forceRefetch(gw: TestGateway, keys: TestKeys, hits: () => number): Promise<void> {
  await new Promise((r) => setTimeout(r, 1_100));
  const before = hits();
  assert.equal(await status(gw, await signToken(keys, { kid: `unknown-${randomUUID()}` })), 401);
  assert.equal(hits(), before + 1, 'the JWKS was not refetched');
}

describe('attack: tokens signed with a key withdrawn from the JWKS', () => {
  let published: JWK[] = [];
  let hits = 0;
  let jwks: StartedServer;
  let gw: TestGateway;
  let keyA: TestKeys;
  let keyB: TestKeys;

  before(async () => {
    keyA = await generateTestKeys('EdDSA', 'key-a');
    keyB = await generateTestKeys('EdDSA', 'key-b');
    published = [keyA.publicJwk, keyB.publicJwk];
    jwks = await startHttpServer((_req, res) => {
      hits++;
      const body = JSON.stringify({ keys: published });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    gw = await startTestGateway({
      keys: keyA,
      config: {
        auth: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: jwks.url, jwks: { cooldownSeconds: 1 } },
      },
    });
  });
  after(async () => {
    await gw.close();
    await jwks.close();
  });

  it('refuses a cached token once its key is removed from the JWKS', async () => {
    const token = await signToken(keyA, { sub: 'withdrawn-key-user' });
    assert.equal(await status(gw, token), 200);
    assert.equal(await status(gw, token), 200);
    published = [keyB.publicJwk];
    await forceRefetch(gw, keyB, () => hits);
    assert.equal(await status(gw, token), 401, 'a token signed with a withdrawn key is still accepted');
    assert.equal(await status(gw, await signToken(keyB)), 200);
  });

  it('refuses a cached token once the key material behind its kid is replaced', async () => {
    const old = await generateTestKeys('EdDSA', 'key-c');
    published = [keyB.publicJwk, old.publicJwk];
    await forceRefetch(gw, keyB, () => hits);
    const token = await signToken(old, { sub: 'old-material-user' });
    assert.equal(await status(gw, token), 200);
    // Same kid, new key: the old private key is no longer trusted.
    const replacement = await generateTestKeys('EdDSA', 'key-c');
    published = [keyB.publicJwk, replacement.publicJwk];
    await forceRefetch(gw, keyB, () => hits);
    assert.equal(await status(gw, await signToken(old, { sub: 'old-material-fresh' })), 401);
    assert.equal(await status(gw, await signToken(replacement)), 200);
    assert.equal(
      await status(gw, token),
      401,
      'a cached token signed with replaced key material is still accepted',
    );
  });
});
