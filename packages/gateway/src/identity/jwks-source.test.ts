import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { captureLogger, randomSecret, startHttpServer } from '@gatehouse/kit/testing';
import { generateTestKeys, signToken } from '../../test/harness.ts';
import { loadGatewayConfig } from '../config/load.ts';
import { JwksSource } from './jwks-source.ts';
import { algorithmFor } from './keys.ts';
import { TokenVerifier } from './verifier.ts';

const a = await generateTestKeys('EdDSA', 'a');
const b = await generateTestKeys('ES256', 'b');

/** A JWKS endpoint whose answer a test can change, counting its hits. */
async function jwksServer() {
  const state = { hits: 0, status: 200, body: JSON.stringify({ keys: [a.publicJwk] }) };
  const server = await startHttpServer((_req, res) => {
    state.hits++;
    res.writeHead(state.status, { 'content-type': 'application/json' });
    res.end(state.body);
  });
  after(() => server.close());
  return { ...server, state, jwksUrl: `${server.url}/jwks.json` };
}

function source(url: string, overrides: Partial<ConstructorParameters<typeof JwksSource>[0]> = {}) {
  const logs = captureLogger();
  return {
    logs,
    jwks: new JwksSource({
      url,
      refreshIntervalMs: 60_000,
      cooldownMs: 60_000,
      maxStaleMs: 3_600_000,
      timeoutMs: 1_000,
      logger: logs.logger,
      ...overrides,
    }),
  };
}

describe('JwksSource', () => {
  it('loads keys, and refetches for unknown kids at most once per cooldown', async () => {
    const server = await jwksServer();
    const { jwks } = source(server.jwksUrl);
    await jwks.start();
    after(() => jwks.stop());
    assert.equal(server.state.hits, 1);
    assert.equal((await jwks.lookup('a'))?.alg, 'EdDSA');
    const flood = await Promise.all(Array.from({ length: 200 }, (_, i) => jwks.lookup(`made-up-${i}`)));
    assert.ok(flood.every((k) => k === undefined));
    assert.equal(server.state.hits, 1, 'within the cooldown no refetch happens at all');
  });

  it('picks up a new key on an unknown kid once the cooldown has passed', async () => {
    const server = await jwksServer();
    const { jwks } = source(server.jwksUrl, { cooldownMs: 0 });
    let changes = 0;
    const watched = new JwksSource({
      ...{
        url: server.jwksUrl,
        refreshIntervalMs: 60_000,
        cooldownMs: 0,
        maxStaleMs: 60_000,
        timeoutMs: 1000,
        logger: captureLogger().logger,
      },
      onChange: () => changes++,
    });
    await watched.refresh('test');
    await jwks.refresh('test');
    server.state.body = JSON.stringify({ keys: [a.publicJwk, b.publicJwk] });
    const [x, y] = await Promise.all([jwks.lookup('b'), jwks.lookup('b')]);
    assert.equal(x?.alg, 'ES256');
    assert.equal(y, x);
    await watched.lookup('b');
    assert.equal(changes, 2);
  });

  it('keeps the last good keys while the endpoint fails, until they are too old', async () => {
    const server = await jwksServer();
    let clock = 1_000_000;
    const { jwks, logs } = source(server.jwksUrl, { maxStaleMs: 10_000, now: () => clock });
    await jwks.refresh('start');
    server.state.status = 503;
    clock += 5_000;
    await jwks.refresh('interval');
    assert.equal(jwks.usable, true);
    assert.equal(jwks.status().lastError, 'JWKS answered 503');
    assert.ok(logs.lines.some((l) => l.msg === 'jwks: fetch failed, keeping last good keys'));
    clock += 6_000;
    assert.equal(jwks.usable, false);
    assert.equal(jwks.status().stale, true);
  });

  it('refuses documents and keys that must not be trusted', async () => {
    const server = await jwksServer();
    const { jwks } = source(server.jwksUrl);
    const bodies = [
      'not json',
      JSON.stringify({ nokeys: [] }),
      JSON.stringify({ keys: [] }),
      JSON.stringify({ keys: [{ ...a.publicJwk, d: 'private-part' }] }),
      JSON.stringify({ keys: [{ kty: 'oct', kid: 'h', k: 'c2VjcmV0' }] }),
      JSON.stringify({ keys: [{ ...a.publicJwk, kid: undefined }] }),
      JSON.stringify({ keys: [{ ...a.publicJwk, x: 'broken' }] }),
      JSON.stringify({ keys: [a.publicJwk], pad: 'x'.repeat(300 * 1024) }),
    ];
    for (const body of bodies) {
      server.state.body = body;
      await jwks.refresh('test');
      assert.equal(jwks.usable, false, body.slice(0, 40));
    }
  });
});

describe('algorithmFor', () => {
  it('binds each key type to one algorithm', () => {
    assert.deepEqual(algorithmFor({ kty: 'OKP', crv: 'Ed25519' }), { alg: 'EdDSA' });
    assert.deepEqual(algorithmFor({ kty: 'OKP', crv: 'Ed25519', alg: 'Ed25519' }), { alg: 'Ed25519' });
    assert.deepEqual(algorithmFor({ kty: 'EC', crv: 'P-256' }), { alg: 'ES256' });
    assert.deepEqual(algorithmFor(b.publicJwk), { alg: 'ES256' });
    assert.match(
      (algorithmFor({ kty: 'EC', crv: 'P-256', alg: 'RS256' }) as { error: string }).error,
      /does not fit/,
    );
    assert.match((algorithmFor({ kty: 'EC', crv: 'P-384' }) as { error: string }).error, /unsupported/);
    assert.match((algorithmFor({ kty: 'RSA', n: 'AQAB' }) as { error: string }).error, /below 2048/);
    assert.match(
      (algorithmFor({ kty: 'OKP', crv: 'Ed25519', use: 'enc' }) as { error: string }).error,
      /use/,
    );
    assert.match(
      (algorithmFor({ kty: 'OKP', crv: 'Ed25519', alg: 'none' }) as { error: string }).error,
      /not allowed/,
    );
  });
});

describe('TokenVerifier with a JWKS', () => {
  it('verifies with fetched keys and reports the source', async () => {
    const server = await jwksServer();
    const { config } = loadGatewayConfig(
      {
        auth: { issuer: 'https://auth.test.gatehouse', audience: 'gatehouse', jwksUrl: server.jwksUrl },
        assertion: { keys: [{ kid: 'gw1', secret: randomSecret() }] },
        upstreams: { x: { url: 'http://127.0.0.1:1' } },
        routes: [{ prefix: '/', upstream: 'x' }],
      },
      {},
      'test',
    );
    const v = new TokenVerifier(config.auth, captureLogger().logger);
    await v.start();
    after(() => v.stop());
    assert.equal((await v.verify(await signToken(a))).sub, 'user-1');
    await assert.rejects(v.verify(await signToken(a, { kid: 'unknown' })), { reason: 'unknown_kid' });
    assert.equal(
      await signToken(a, { kid: null })
        .then((t) => v.verify(t))
        .catch((e) => e.reason),
      'unknown_kid',
    );
    const status = v.status();
    assert.equal(status.source, 'jwks');
    assert.equal(status.jwks?.keys, 1);
  });
});

describe('JwksSource when the endpoint comes up after the gateway', () => {
  it('retries with backoff until the keys load, without waiting for the cooldown', async () => {
    const server = await jwksServer();
    server.state.status = 503;
    const { jwks } = source(server.jwksUrl, { cooldownMs: 60_000, refreshIntervalMs: 60_000 });
    await jwks.start();
    after(() => jwks.stop());
    assert.equal(jwks.usable, false);
    server.state.status = 200;
    const until = Date.now() + 5_000;
    while (!jwks.usable && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.equal(jwks.usable, true, 'loaded by a retry, long before the 60 s cooldown');
    assert.ok(server.state.hits >= 2);
  });
});
