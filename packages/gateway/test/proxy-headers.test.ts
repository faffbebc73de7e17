import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type RawUpstream,
  rawGet,
  rawRequest,
  startRawUpstream,
  startTestGateway,
  type TestGateway,
} from './harness.ts';

/**
 * Proxy hygiene on the way back: hop-by-hop headers of the upstream's answer
 * (and those it names in Connection) never reach the client; security
 * headers are on every answer, with the upstream's own value winning; the
 * request id and trace context are the gateway's.
 */

const SECURITY_DEFAULTS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

function hopByHopAnswer(): string {
  const body = '{"ok":true}';
  return [
    'HTTP/1.1 200 OK',
    'Content-Type: application/json',
    `Content-Length: ${body.length}`,
    'Connection: x-secret, keep-alive',
    'X-Secret: s3cret-internal',
    'Keep-Alive: timeout=999, max=7',
    'Upgrade: h2c',
    'Proxy-Connection: keep-alive',
    'Proxy-Authenticate: Basic realm="internal"',
    'Trailer: X-Checksum',
    'X-Frame-Options: SAMEORIGIN',
    'X-Request-Id: upstream-made-request-id',
    'X-Kept: yes',
    '',
    body,
  ].join('\r\n');
}

function chunkedAnswer(): string {
  return [
    'HTTP/1.1 200 OK',
    'Content-Type: text/plain',
    'Transfer-Encoding: chunked',
    '',
    '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  ].join('\r\n');
}

describe('proxy headers', () => {
  let raw: RawUpstream;
  let gw: TestGateway;
  before(async () => {
    raw = await startRawUpstream((head) =>
      head.startsWith('GET /raw/chunked') ? chunkedAnswer() : hopByHopAnswer(),
    );
    gw = await startTestGateway({
      config: {
        upstreams: {
          echo: { url: 'http://127.0.0.1:1', timeout: 'fast' },
          raw: { url: raw.url, timeout: 'fast' },
        },
        routes: [{ prefix: '/raw', upstream: 'raw', public: ['GET /**'] }],
      },
    });
  });
  after(async () => {
    await gw.close();
    await raw.close();
  });

  it("strips the upstream's hop-by-hop headers and those it names in Connection", async () => {
    const res = await rawRequest(gw.url, rawGet('/raw/hop'));
    assert.equal(res.status, 200);
    assert.equal(res.body, '{"ok":true}');
    assert.equal(res.headers['x-kept'], 'yes');
    for (const name of ['x-secret', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'trailer']) {
      assert.equal(res.headers[name], undefined, `${name} reached the client`);
    }
    assert.ok(!res.raw.includes('s3cret-internal'));
    assert.ok(!(res.headers.connection ?? '').includes('x-secret'));
    assert.ok(
      !(res.headers['keep-alive'] ?? '').includes('max=7'),
      'the upstream keep-alive reached the client',
    );
  });

  it('re-frames a chunked upstream answer: the body arrives intact, with one framing header', async () => {
    const res = await rawRequest(gw.url, rawGet('/raw/chunked'));
    assert.equal(res.status, 200);
    assert.equal(res.body, 'hello world');
    const framing = res.headerLines.filter(([name]) => /^(transfer-encoding|content-length)$/i.test(name));
    assert.equal(framing.length, 1, JSON.stringify(framing));
    const fetched = await fetch(`${gw.url}/raw/chunked`);
    assert.equal(await fetched.text(), 'hello world');
  });

  it("keeps the upstream's own security header and adds the missing defaults", async () => {
    const res = await fetch(`${gw.url}/raw/hop`);
    assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin');
  });

  it("puts the gateway's request id on the answer, not the upstream's", async () => {
    const res = await fetch(`${gw.url}/raw/hop`, { headers: { 'x-request-id': 'client-request-0001' } });
    assert.equal(res.headers.get('x-request-id'), 'client-request-0001');
    await res.arrayBuffer();
  });
});

describe('security headers, request id and trace context', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  function assertSecurityHeaders(headers: Headers | Record<string, string>, what: string): void {
    for (const [name, value] of Object.entries(SECURITY_DEFAULTS)) {
      const actual = headers instanceof Headers ? headers.get(name) : headers[name];
      assert.equal(actual, value, `${name} on ${what}`);
    }
  }

  it('sets the security headers on proxied answers', async () => {
    const res = await fetch(`${gw.url}/api/public/x`);
    assert.equal(res.status, 200);
    assertSecurityHeaders(res.headers, 'a proxied 200');
  });

  it("sets them on the gateway's own answers after routing (401, 403, 404)", async () => {
    const unauthenticated = await fetch(`${gw.url}/api/items`);
    assert.equal(unauthenticated.status, 401);
    assertSecurityHeaders(unauthenticated.headers, 'a 401');
    const forbidden = await fetch(`${gw.url}/api/items/1`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await gw.token()}` },
    });
    assert.equal(forbidden.status, 403);
    assertSecurityHeaders(forbidden.headers, 'a 403');
    const notFound = await fetch(`${gw.url}/nowhere`);
    assert.equal(notFound.status, 404);
    assertSecurityHeaders(notFound.headers, 'a 404');
  });

  const beforeRouting: [string, string, number][] = [
    ['400 GW_BAD_PATH', rawGet('/api/public/..%2Fadmin'), 400],
    ['405 for TRACE', rawGet('/api/public/x', [], 'TRACE'), 405],
    ['414 GW_URI_TOO_LONG', rawGet(`/api/public/${'a'.repeat(9_000)}`), 414],
    [
      '413 over the global body limit',
      'POST /api/public/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n',
      413,
    ],
  ];
  for (const [name, request, status] of beforeRouting) {
    it(`sets them on the gateway's refusals before routing: ${name}`, async () => {
      const res = await rawRequest(gw.url, request);
      assert.equal(res.status, status);
      assertSecurityHeaders(res.headers, `a ${name}`);
    });
  }

  const parserRefusals: [string, string, number][] = [
    ['431 GW_HEADERS_TOO_LARGE', rawGet('/api/public/x', [`X-Big: ${'a'.repeat(20_000)}`]), 431],
    [
      '400 for ambiguous framing',
      'POST /api/public/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      400,
    ],
  ];
  for (const [name, request, status] of parserRefusals) {
    it(`sets them on the parser's refusals: ${name}`, async () => {
      const res = await rawRequest(gw.url, request);
      assert.equal(res.status, status);
      assertSecurityHeaders(res.headers, `a ${name}`);
    });
  }

  it('puts the same request id in the problem body and the x-request-id header', async () => {
    const res = await fetch(`${gw.url}/api/items`);
    const body = (await res.json()) as { requestId?: string };
    assert.equal(body.requestId, res.headers.get('x-request-id'));
  });

  it('keeps a sane inbound x-request-id, on the answer and upstream', async () => {
    const res = await fetch(`${gw.url}/api/public/x`, { headers: { 'x-request-id': 'lb-7f3a9c:0001.req' } });
    assert.equal(res.headers.get('x-request-id'), 'lb-7f3a9c:0001.req');
    assert.equal(gw.upstream.seen.at(-1)?.headers['x-request-id'], 'lb-7f3a9c:0001.req');
  });

  for (const junk of [
    '<script>alert(1)</script>',
    'short',
    'x'.repeat(200),
    'id with spaces 12345',
    'ünïcode-id-123',
  ]) {
    it(`replaces a junk inbound x-request-id (${junk.slice(0, 20)}…) with a fresh one`, async () => {
      const res = await rawRequest(gw.url, rawGet('/api/public/x', [`X-Request-Id: ${junk}`]));
      assert.equal(res.status, 200);
      const id = res.headers['x-request-id'] ?? '';
      assert.notEqual(id, junk);
      assert.match(id, /^[A-Za-z0-9._:-]{8,128}$/);
      assert.equal(gw.upstream.seen.at(-1)?.headers['x-request-id'], id);
    });
  }

  it('replaces two inbound x-request-id headers with one fresh id', async () => {
    const res = await rawRequest(
      gw.url,
      rawGet('/api/public/x', ['X-Request-Id: first-id-00001', 'X-Request-Id: second-id-0002']),
    );
    const id = res.headers['x-request-id'] ?? '';
    assert.ok(!id.includes('first') && !id.includes('second'), id);
    const seen = gw.upstream.seen.at(-1);
    const sent = seen?.rawHeaders.filter(
      (_, i, all) => i % 2 === 1 && all[i - 1]?.toLowerCase() === 'x-request-id',
    );
    assert.deepEqual(sent, [id]);
  });

  it('continues an inbound traceparent: same trace id and flags, a new parent id', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentId = 'b7ad6b7169203331';
    await fetch(`${gw.url}/api/public/x`, {
      headers: { traceparent: `00-${traceId}-${parentId}-01`, tracestate: 'vendor=abc' },
    });
    const sent = String(gw.upstream.seen.at(-1)?.headers.traceparent);
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(sent);
    assert.ok(match, sent);
    assert.equal(match[1], traceId);
    assert.notEqual(match[2], parentId);
    assert.notEqual(match[2], '0'.repeat(16));
    assert.equal(match[3], '01');
    assert.equal(gw.upstream.seen.at(-1)?.headers.tracestate, 'vendor=abc');
  });

  for (const [name, inbound] of [
    ['none', undefined],
    ['all-zero trace id', `00-${'0'.repeat(32)}-b7ad6b7169203331-01`],
    ['upper-case hex', '00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01'],
    ['garbage', 'not-a-traceparent'],
  ] as const) {
    it(`starts a new trace when the inbound traceparent is ${name}`, async () => {
      await fetch(`${gw.url}/api/public/x`, {
        headers: inbound === undefined ? {} : { traceparent: inbound },
      });
      const sent = String(gw.upstream.seen.at(-1)?.headers.traceparent);
      const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(sent);
      assert.ok(match, sent);
      assert.notEqual(match[1], '0'.repeat(32));
      assert.notEqual(match[1], '0af7651916cd43dd8448eb211c80319c');
      assert.notEqual(match[2], '0'.repeat(16));
    });
  }
});
