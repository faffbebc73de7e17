import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { problemOf, startEchoUpstream, startTestGateway, type TestGateway } from './harness.ts';

/**
 * CORS from an allowlist with credentials: a preflight from an allowed origin
 * is answered before authentication and never reaches the upstream; an
 * unlisted origin's preflight is refused; an arbitrary origin is never
 * reflected, neither by the gateway nor through it from the upstream.
 */

const ALLOWED = 'https://app.example';

describe('CORS (allowlist, credentials)', () => {
  let gw: TestGateway;
  before(async () => {
    // The upstream answers with permissive CORS headers of its own, as a misconfigured service might.
    const upstream = await startEchoUpstream((req, res) => {
      const body = JSON.stringify({ ok: true });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'access-control-allow-origin': String(req.headers.origin ?? '*'),
        'access-control-allow-credentials': 'true',
      });
      res.end(body);
    });
    gw = await startTestGateway({
      upstream,
      config: { cors: { origins: [ALLOWED], credentials: true } },
    });
  });
  after(async () => {
    await gw.close();
    await gw.upstream.close();
  });

  function preflight(origin: string, path = '/api/items/1', method = 'DELETE'): Promise<Response> {
    return fetch(`${gw.url}${path}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization, content-type',
      },
    });
  }

  it('answers a preflight from an allowed origin with 204, before authentication, without the upstream', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await preflight(ALLOWED);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    const methods = (res.headers.get('access-control-allow-methods') ?? '').split(/,\s*/);
    assert.ok(methods.includes('DELETE') && methods.includes('GET'), methods.join());
    const allowHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
    assert.ok(allowHeaders.includes('authorization') && allowHeaders.includes('content-type'));
    assert.equal(res.headers.get('access-control-max-age'), '600');
    assert.match(res.headers.get('vary') ?? '', /origin/i);
    assert.equal(res.headers.get('www-authenticate'), null);
    assert.equal(await res.text(), '');
    assert.equal(gw.upstream.arrived.length, arrived);
  });

  it('refuses a preflight from an unlisted origin with 403 GW_CORS_REJECTED', async () => {
    const arrived = gw.upstream.arrived.length;
    for (const origin of [
      'https://evil.example',
      'https://app.example.evil.example',
      'https://evilapp.example',
      'http://app.example',
      'https://app.example:8443',
      'null',
    ]) {
      const res = await preflight(origin);
      assert.equal(res.status, 403, origin);
      assert.equal((await problemOf(res)).code, 'GW_CORS_REJECTED');
      assert.equal(res.headers.get('access-control-allow-origin'), null, origin);
      assert.equal(res.headers.get('access-control-allow-credentials'), null, origin);
    }
    assert.equal(gw.upstream.arrived.length, arrived);
  });

  it('adds the allow-origin header to an actual request from an allowed origin', async () => {
    const res = await fetch(`${gw.url}/api/public/x`, { headers: { origin: ALLOWED } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
  });

  it('gives a simple request from an unlisted origin no allow-origin (the gateway does not reflect it)', async () => {
    const res = await fetch(`${gw.url}/api/items`, { headers: { origin: 'https://evil.example' } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
  });

  it("never lets the upstream's reflected origin with credentials through to an unlisted origin", async () => {
    const res = await fetch(`${gw.url}/api/public/x`, { headers: { origin: 'https://evil.example' } });
    assert.equal(res.status, 200);
    assert.equal(gw.upstream.seen.at(-1)?.headers.origin, 'https://evil.example');
    assert.equal(res.headers.get('access-control-allow-origin'), null, 'an arbitrary origin was reflected');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
  });

  it('asks for authentication on a non-preflight OPTIONS (no Access-Control-Request-Method)', async () => {
    const res = await fetch(`${gw.url}/api/items`, { method: 'OPTIONS', headers: { origin: ALLOWED } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED);
  });
});

describe('CORS wildcard without credentials', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ config: { cors: { origins: ['*'] } } });
  });
  after(() => gw.close());

  it('answers "*" and never an echoed origin or credentials', async () => {
    const pre = await fetch(`${gw.url}/api/items`, {
      method: 'OPTIONS',
      headers: { origin: 'https://anyone.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.equal(pre.headers.get('access-control-allow-credentials'), null);
    const res = await fetch(`${gw.url}/api/public/x`, { headers: { origin: 'https://anyone.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
  });
});
