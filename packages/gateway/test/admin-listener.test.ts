import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import {
  AUDIENCE,
  ISSUER,
  problemOf,
  rawGet,
  rawRequest,
  startTestGateway,
  type TestGateway,
} from './harness.ts';

/**
 * The two listeners: /live and /ready answer on the public one too (load
 * balancers probe there); /metrics, /health and /config answer only on the
 * admin listener, and /config shows the routes without any secret.
 */
describe('admin listener', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  for (const probe of ['/live', '/ready']) {
    it(`answers ${probe} on the public and on the admin listener`, async () => {
      for (const base of [gw.url, gw.adminUrl]) {
        const res = await fetch(`${base}${probe}`);
        assert.equal(res.status, 200, `${base}${probe}`);
        assert.match(res.headers.get('content-type') ?? '', /json/);
        await res.arrayBuffer();
      }
      assert.deepEqual(gw.upstream.arrived, []);
    });
  }

  for (const path of ['/metrics', '/health', '/config']) {
    it(`says 404 GW_ROUTE_NOT_FOUND for ${path} on the public listener`, async () => {
      const res = await fetch(`${gw.url}${path}`);
      assert.equal(res.status, 404);
      assert.equal((await problemOf(res)).code, 'GW_ROUTE_NOT_FOUND');
    });
  }

  it('does not reach the admin documents on the public listener through path tricks', async () => {
    for (const target of [
      '/live/../metrics',
      '//config',
      '/ready/%2e%2e/health',
      '/api/public/../../config',
    ]) {
      const res = await rawRequest(gw.url, rawGet(target));
      assert.ok(res.status === 404 || res.status === 400, `${target}: ${res.status}`);
      assert.ok(!res.body.includes('gateway_http_requests_total'), target);
      assert.ok(!res.body.includes('"routes"'), target);
    }
  });

  it('serves /health on the admin listener', async () => {
    const res = await fetch(`${gw.adminUrl}/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.configHash, gw.gateway.configHash);
    assert.ok(Array.isArray(body.upstreams));
  });

  it('serves /config on the admin listener: the routes, no secret', async () => {
    const res = await fetch(`${gw.adminUrl}/config`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const body = JSON.parse(text) as { routes?: unknown };
    assert.ok(body.routes !== undefined);
    assert.ok(text.includes('/api'), 'the route table is missing');
    assert.ok(!text.includes(gw.assertionSecret), 'the assertion secret is shown');
  });

  it('refuses to change anything through the admin listener', async () => {
    const res = await fetch(`${gw.adminUrl}/config`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 405);
  });

  it('labels metrics by route prefix, never by raw path', async () => {
    const token = await gw.token();
    for (const id of ['4711', '4712', 'secret-customer-name']) {
      const res = await fetch(`${gw.url}/api/items/${id}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
    }
    await (await fetch(`${gw.url}/nowhere/at/all`)).arrayBuffer();
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    const lines = metrics.split('\n').filter((l) => l.startsWith('gateway_http_requests_total{'));
    assert.ok(
      lines.some((l) => l.includes('route="/api"') && l.includes('status="200"')),
      lines.join('\n'),
    );
    for (const line of lines) {
      const route = /route="([^"]*)"/.exec(line)?.[1];
      assert.ok(route === '/api' || route === 'unmatched', `unexpected route label: ${line}`);
    }
    // Label values only: sample values (process memory, CPU seconds) may contain any digits.
    const labelValues = [...metrics.matchAll(/="([^"]*)"/g)].map((m) => m[1] as string);
    assert.ok(labelValues.length > 0);
    for (const raw of ['4711', 'secret-customer-name', '/nowhere', 'user-1', 'tenant-1']) {
      assert.ok(!labelValues.some((v) => v.includes(raw)), `a metric label contains ${raw}`);
    }
  });
});

describe('admin /config with the effective config (as main.ts serves it)', () => {
  const hs256 = randomSecret();
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      withMaskedConfig: true,
      env: { GW_HS256_SECRET: hs256 },
      config: {
        auth: { issuer: ISSUER, audience: AUDIENCE, hs256Secret: { env: 'GW_HS256_SECRET' } as never },
      },
    });
  });
  after(() => gw.close());

  it('masks the assertion secret and the HS256 secret', async () => {
    const res = await fetch(`${gw.adminUrl}/config`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(text.includes('/api'), 'the route table is missing');
    assert.ok(text.includes('"config"'), 'the effective config is missing');
    assert.ok(!text.includes(gw.assertionSecret), 'the assertion secret is shown');
    assert.ok(!text.includes(hs256), 'the HS256 secret (from the environment) is shown');
  });

  it('masks credentials in an upstream URL (or refuses such a URL at start)', async () => {
    let withCredentials: TestGateway;
    try {
      withCredentials = await startTestGateway({
        withMaskedConfig: true,
        config: {
          upstreams: {
            echo: { url: 'http://svc-user:upstream-password-123@127.0.0.1:1/base', timeout: 'fast' },
          },
        },
      });
    } catch (err) {
      assert.match(String(err), /upstreams/, 'refused, but not for the upstream URL');
      return;
    }
    try {
      for (const path of ['/config', '/health']) {
        const text = await (await fetch(`${withCredentials.adminUrl}${path}`)).text();
        assert.ok(!text.includes('upstream-password-123'), `an upstream password is shown on ${path}`);
      }
      const logged = withCredentials.logs.text();
      assert.ok(!logged.includes('upstream-password-123'), 'an upstream password is logged');
    } finally {
      await withCredentials.close();
    }
  });

  it('keeps the secrets out of /health too', async () => {
    const text = await (await fetch(`${gw.adminUrl}/health`)).text();
    assert.ok(!text.includes(gw.assertionSecret));
    assert.ok(!text.includes(hs256));
  });
});
