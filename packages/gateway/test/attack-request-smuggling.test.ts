import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawGet, rawRequest, startTestGateway, type TestGateway } from './harness.ts';

/**
 * Attack: framing the gateway and the upstream could read differently
 * (request smuggling), methods that reflect or tunnel, and oversized request
 * heads. Ambiguous framing is a 400 problem, the connection is closed (so
 * the rest of the bytes are never read as another request), and nothing
 * reaches the upstream.
 */

const SMUGGLED = 'GET /api/admin/smuggled HTTP/1.1\r\nHost: gateway.test\r\n\r\n';

describe('attack: request smuggling and framing', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  function head(lines: string[]): string {
    return ['POST /api/public/upload HTTP/1.1', 'Host: gateway.test', ...lines, '', ''].join('\r\n');
  }

  async function expectRefusedFraming(data: string, then?: string[]): Promise<void> {
    const arrived = gw.upstream.arrived.length;
    const seen = gw.upstream.seen.length;
    const res = await rawRequest(gw.url, data, {
      waitForCloseMs: 2_000,
      delayMs: 100,
      ...(then ? { followUp: then } : {}),
    });
    assert.equal(res.status, 400, res.raw.slice(0, 300));
    assert.equal(res.headers['content-type'], 'application/problem+json');
    assert.equal(JSON.parse(res.body).code, 'GW_BAD_REQUEST');
    assert.equal(res.closed, true, 'the connection stayed open');
    // Give a late forward the time to show up.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(gw.upstream.seen.length, seen, 'the upstream received a complete request');
    assert.ok(
      !gw.upstream.arrived.slice(arrived).some((r) => r.includes('smuggled')),
      'the smuggled request arrived',
    );
  }

  it('refuses Content-Length together with Transfer-Encoding (CL.TE)', async () => {
    await expectRefusedFraming(
      `${head(['Content-Length: 5', 'Transfer-Encoding: chunked'])}0\r\n\r\n${SMUGGLED}`,
    );
    assert.deepEqual(gw.upstream.arrived, []);
  });

  it('refuses Transfer-Encoding together with Content-Length (TE.CL)', async () => {
    await expectRefusedFraming(
      `${head(['Transfer-Encoding: chunked', `Content-Length: ${4 + SMUGGLED.length}`])}0\r\n\r\n${SMUGGLED}`,
    );
    assert.deepEqual(gw.upstream.arrived, []);
  });

  it('refuses two different Content-Length values', async () => {
    await expectRefusedFraming(`${head(['Content-Length: 5', 'Content-Length: 45'])}hello${SMUGGLED}`);
    assert.deepEqual(gw.upstream.arrived, []);
  });

  it('refuses a Content-Length list', async () => {
    await expectRefusedFraming(`${head(['Content-Length: 5, 45'])}hello${SMUGGLED}`);
    assert.deepEqual(gw.upstream.arrived, []);
  });

  it('refuses Transfer-Encoding: chunked, identity', async () => {
    await expectRefusedFraming(`${head(['Transfer-Encoding: chunked, identity'])}5\r\nhello\r\n0\r\n\r\n`);
    assert.deepEqual(gw.upstream.arrived, []);
  });

  it('refuses a Transfer-Encoding header with a space before the colon', async () => {
    await expectRefusedFraming(
      `${head(['Transfer-Encoding : chunked', 'Content-Length: 4'])}0\r\n\r\n${SMUGGLED}`,
    );
    assert.deepEqual(gw.upstream.arrived, []);
  });

  it('refuses a folded (obs-fold) Transfer-Encoding header', async () => {
    await expectRefusedFraming(`${head(['Transfer-Encoding:', ' chunked'])}0\r\n\r\n${SMUGGLED}`);
    assert.deepEqual(gw.upstream.arrived, []);
  });

  it('refuses an invalid chunk size in the same packet as the head', async () => {
    await expectRefusedFraming(`${head(['Transfer-Encoding: chunked'])}zz\r\nhello\r\n0\r\n\r\n${SMUGGLED}`);
  });

  it('refuses an invalid chunk size sent after the head, and never completes the request upstream', async () => {
    await expectRefusedFraming(head(['Transfer-Encoding: chunked']), [
      '5\r\nhello\r\n',
      `-1\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    ]);
  });

  it('refuses bare-LF chunk framing', async () => {
    await expectRefusedFraming(`${head(['Transfer-Encoding: chunked'])}5\nhello\n0\n\n${SMUGGLED}`);
  });

  it('reads a body with an exact Content-Length and treats the trailing bytes as the next request', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(gw.url, `${head(['Content-Length: 5'])}hello${SMUGGLED}`, {
      waitForCloseMs: 300,
    });
    assert.equal(res.status, 200);
    await new Promise((r) => setTimeout(r, 100));
    const seen = gw.upstream.seen.at(-1);
    assert.equal(seen?.url, '/api/public/upload');
    assert.equal(seen?.body.toString(), 'hello');
    // The bytes after the body were a request of their own: unauthenticated, so never forwarded.
    assert.deepEqual(gw.upstream.arrived.slice(arrived), ['POST /api/public/upload']);
  });

  it('closes the connection when it refuses a declared body it did not read', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(gw.url, `${head(['Content-Length: 2000000'])}${SMUGGLED}`, {
      waitForCloseMs: 2_000,
    });
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).code, 'GW_PAYLOAD_TOO_LARGE');
    assert.equal(res.closed, true);
    assert.deepEqual(gw.upstream.arrived.slice(arrived), []);
  });

  it('refuses TRACE with 405 GW_METHOD_NOT_ALLOWED and an Allow header', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(gw.url, rawGet('/api/public/x', ['Cookie: session=secret'], 'TRACE'));
    assert.equal(res.status, 405);
    assert.equal(JSON.parse(res.body).code, 'GW_METHOD_NOT_ALLOWED');
    assert.ok(res.headers.allow?.includes('GET'));
    assert.ok(!res.headers.allow?.includes('TRACE'));
    assert.ok(!res.body.includes('session=secret'), 'TRACE reflected the request');
    assert.deepEqual(gw.upstream.arrived.slice(arrived), []);
  });

  it('refuses CONNECT: no tunnel, connection closed', async () => {
    const arrived = gw.upstream.arrived.length;
    const upstreamHost = new URL(gw.upstream.url).host;
    const res = await rawRequest(gw.url, `CONNECT ${upstreamHost} HTTP/1.1\r\nHost: ${upstreamHost}\r\n\r\n`);
    assert.ok(res.status === 0 || res.status >= 400, `CONNECT answered ${res.status}`);
    assert.equal(res.closed, true);
    assert.deepEqual(gw.upstream.arrived.slice(arrived), []);
  });

  it('answers a header block larger than maxHeaderBytes with 431 GW_HEADERS_TOO_LARGE', async () => {
    const res = await rawRequest(gw.url, rawGet('/api/public/x', [`X-Big: ${'a'.repeat(20_000)}`]));
    assert.equal(res.status, 431);
    assert.equal(res.headers['content-type'], 'application/problem+json');
    assert.equal(JSON.parse(res.body).code, 'GW_HEADERS_TOO_LARGE');
    assert.equal(res.closed, true);
  });

  it('answers many small headers adding up past maxHeaderBytes with 431', async () => {
    const headers = Array.from({ length: 400 }, (_, i) => `X-H-${i}: ${'b'.repeat(40)}`);
    const res = await rawRequest(gw.url, rawGet('/api/public/x', headers));
    assert.equal(res.status, 431);
    assert.equal(JSON.parse(res.body).code, 'GW_HEADERS_TOO_LARGE');
  });

  it('answers a URL longer than maxUrlBytes with 414 GW_URI_TOO_LONG', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(gw.url, rawGet(`/api/public/${'a'.repeat(9_000)}`));
    assert.equal(res.status, 414);
    assert.equal(JSON.parse(res.body).code, 'GW_URI_TOO_LONG');
    assert.deepEqual(gw.upstream.arrived.slice(arrived), []);
  });

  it('refuses a request with two Host headers (RFC 9112 §3.2: 400)', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(
      gw.url,
      'GET /api/public/x HTTP/1.1\r\nHost: gateway.test\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
    );
    assert.equal(res.status, 400);
    assert.deepEqual(gw.upstream.arrived.slice(arrived), []);
  });

  it('refuses an HTTP/1.1 request without Host', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(gw.url, 'GET /api/public/x HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 400);
    assert.deepEqual(gw.upstream.arrived.slice(arrived), []);
  });
  it('refuses an h2c upgrade (h2c smuggling): no 101, nothing reaches the upstream', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(
      gw.url,
      [
        'GET /api/public/x HTTP/1.1',
        'Host: gateway.test',
        'Upgrade: h2c',
        'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
        'Connection: Upgrade, HTTP2-Settings',
        '',
        '',
      ].join('\r\n'),
    );
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).code, 'GW_UPGRADE_REFUSED');
    assert.deepEqual(gw.upstream.arrived.slice(arrived), []);
  });

  it('refuses a WebSocket upgrade on a route without `websocket`, and never tunnels it', async () => {
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(
      gw.url,
      [
        'GET /api/items HTTP/1.1',
        'Host: gateway.test',
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    );
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).code, 'GW_UPGRADE_REFUSED');
    assert.deepEqual(gw.upstream.arrived.slice(arrived), []);
  });
});
