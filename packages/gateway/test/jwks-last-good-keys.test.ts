import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type StartedServer, startHttpServer } from '@gatehouse/kit/testing';
import {
  AUDIENCE,
  generateTestKeys,
  ISSUER,
  problemOf,
  signToken,
  startTestGateway,
  type TestGateway,
  type TestKeys,
} from './harness.ts';

/**
 * The identity service's JWKS endpoint goes down after the gateway loaded it:
 * the gateway keeps verifying with the last good keys (refetch attempts fail
 * and change nothing), and /ready stays 200.
 */
describe('JWKS endpoint down after the first load', () => {
  let keys: TestKeys;
  let jwks: StartedServer;
  let hits = 0;
  let gw: TestGateway;

  before(async () => {
    keys = await generateTestKeys('ES256', 'jwks-es256');
    jwks = await startHttpServer((_req, res) => {
      hits++;
      const body = JSON.stringify({ keys: [keys.publicJwk] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    gw = await startTestGateway({
      keys,
      config: {
        auth: {
          issuer: ISSUER,
          audience: AUDIENCE,
          jwksUrl: `${jwks.url}/jwks.json`,
          jwks: { cooldownSeconds: 1 },
        },
      },
    });
  });
  after(() => gw.close());

  it('accepts tokens signed with the last good keys while the JWKS endpoint is unreachable', async () => {
    assert.equal(hits, 1);
    const first = await fetch(`${gw.url}/api/items`, {
      headers: { authorization: `Bearer ${await gw.token()}` },
    });
    assert.equal(first.status, 200);

    await jwks.close();
    await new Promise((r) => setTimeout(r, 1_100));
    // An unknown kid past the cooldown makes the gateway try the (dead) endpoint.
    const unknown = await signToken(keys, { kid: 'rotated-away' });
    const refused = await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${unknown}` } });
    assert.equal(refused.status, 401);
    assert.equal((await problemOf(refused)).code, 'GW_INVALID_TOKEN');

    // A fresh token (not in the verified-token cache) with the known kid still verifies.
    const fresh = await gw.token({ sub: 'user-after-outage' });
    const res = await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${fresh}` } });
    assert.equal(res.status, 200);
    assert.equal(gw.upstream.seen.at(-1)?.headers['x-user-id'], 'user-after-outage');

    const ready = await fetch(`${gw.url}/ready`);
    assert.equal(ready.status, 200);
  });
});
