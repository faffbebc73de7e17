import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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
 * Attack: a flood of tokens with made-up `kid`s, each of which could make the
 * gateway refetch the JWKS, turning the gateway into an amplifier against the
 * identity service. An unknown kid refetches at most once per cooldown, and
 * concurrent lookups share that fetch.
 */

interface JwksServer {
  readonly server: StartedServer;
  hits: number;
}

async function startJwks(keys: TestKeys): Promise<JwksServer> {
  const jwks = { hits: 0 } as JwksServer;
  const server = await startHttpServer((_req, res) => {
    jwks.hits++;
    const body = JSON.stringify({ keys: [keys.publicJwk] });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return Object.assign(jwks, { server });
}

async function flood(gw: TestGateway, keys: TestKeys, count: number): Promise<number[]> {
  const tokens = await Promise.all(
    Array.from({ length: count }, () => signToken(keys, { kid: `kid-${randomUUID()}` })),
  );
  return Promise.all(
    tokens.map(async (token) => {
      const res = await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}` } });
      const body = await problemOf(res);
      assert.equal(body.code, 'GW_INVALID_TOKEN');
      return res.status;
    }),
  );
}

for (const cooldownSeconds of [30, 1]) {
  describe(`attack: unknown-kid flood against a JWKS source (cooldown ${cooldownSeconds} s)`, () => {
    let keys: TestKeys;
    let jwks: JwksServer;
    let gw: TestGateway;

    before(async () => {
      keys = await generateTestKeys('EdDSA', 'jwks-key-1');
      jwks = await startJwks(keys);
      gw = await startTestGateway({
        keys,
        config: {
          auth: {
            issuer: ISSUER,
            audience: AUDIENCE,
            jwksUrl: `${jwks.server.url}/.well-known/jwks.json`,
            jwks: { cooldownSeconds },
          },
        },
      });
    });
    after(async () => {
      await gw.close();
      await jwks.server.close();
    });

    it('loads the JWKS once at start and accepts its keys', async () => {
      assert.equal(jwks.hits, 1);
      const res = await fetch(`${gw.url}/api/items`, {
        headers: { authorization: `Bearer ${await gw.token()}` },
      });
      assert.equal(res.status, 200);
      assert.equal(jwks.hits, 1, 'a known kid needs no fetch');
    });

    it('answers 200 tokens with random kids with 401 and fetches the JWKS at most once more', async () => {
      // Past the cooldown (when it is short), so exactly one refetch is allowed for the whole flood.
      if (cooldownSeconds === 1) await new Promise((r) => setTimeout(r, 1_100));
      const arrived = gw.upstream.arrived.length;
      const started = performance.now();
      const statuses = await flood(gw, keys, 200);
      const elapsed = performance.now() - started;
      assert.deepEqual(new Set(statuses), new Set([401]));
      // The initial load plus at most one refetch per cooldown period the flood lasted.
      const allowed = 1 + Math.ceil(elapsed / (cooldownSeconds * 1_000));
      assert.ok(jwks.hits >= 1 && jwks.hits <= Math.max(2, allowed), `JWKS fetched ${jwks.hits} times`);
      if (cooldownSeconds === 30) assert.ok(jwks.hits <= 2, `JWKS fetched ${jwks.hits} times for one flood`);
      assert.equal(gw.upstream.arrived.length, arrived);
    });

    it('still accepts valid tokens after the flood', async () => {
      const res = await fetch(`${gw.url}/api/items`, {
        headers: { authorization: `Bearer ${await gw.token()}` },
      });
      assert.equal(res.status, 200);
    });
  });
}
