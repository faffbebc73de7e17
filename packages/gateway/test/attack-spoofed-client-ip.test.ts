import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawGet, rawRequest, type SeenRequest, startTestGateway, type TestGateway } from './harness.ts';

/**
 * Attack: pretend to come from another address with `x-forwarded-for` (to
 * dodge per-IP limits or fool an IP allowlist behind the gateway). Without
 * trusted proxies only the socket counts; with them, x-forwarded-for is
 * walked from the right and the first untrusted entry is the client.
 */

function forwardedFor(gw: TestGateway): string | string[] | undefined {
  return (gw.upstream.seen.at(-1) as SeenRequest).headers['x-forwarded-for'];
}

function lastAccessLogIp(gw: TestGateway): unknown {
  return gw.logs.lines.filter((l) => l.msg === 'request').at(-1)?.clientIp;
}

describe('attack: spoofed client address, no trusted proxies', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  it('ignores x-forwarded-for and x-forwarded-proto: the socket address counts', async () => {
    const res = await fetch(`${gw.url}/api/public/ip`, {
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-real-ip': '6.6.6.6' },
    });
    assert.equal(res.status, 200);
    assert.equal(forwardedFor(gw), '127.0.0.1');
    assert.equal(gw.upstream.seen.at(-1)?.headers['x-forwarded-proto'], 'http');
    assert.equal(gw.upstream.seen.at(-1)?.headers['x-real-ip'], undefined);
    assert.equal(lastAccessLogIp(gw), '127.0.0.1');
  });

  it('ignores several x-forwarded-for headers too (raw socket)', async () => {
    const res = await rawRequest(
      gw.url,
      rawGet('/api/public/ip', ['X-Forwarded-For: 6.6.6.6', 'X-Forwarded-For: 7.7.7.7, 127.0.0.1']),
    );
    assert.equal(res.status, 200);
    assert.equal(forwardedFor(gw), '127.0.0.1');
  });
});

describe('attack: spoofed client address through a trusted proxy (127.0.0.1/32)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ config: { trustedProxies: ['127.0.0.1/32'] } });
  });
  after(() => gw.close());

  const cases: [string, string][] = [
    ['6.6.6.6', '6.6.6.6'],
    // The client prepended 6.6.6.6; the trusted proxy appended the real peer 203.0.113.9.
    ['6.6.6.6, 203.0.113.9', '203.0.113.9'],
    // Trusted hops on the right are skipped.
    ['6.6.6.6, 203.0.113.9, 127.0.0.1', '203.0.113.9'],
    // Garbage stops the walk: nothing left of it is believed.
    ['6.6.6.6, not-an-ip, 127.0.0.1', '127.0.0.1'],
  ];
  for (const [xff, expected] of cases) {
    it(`x-forwarded-for "${xff}" → client ${expected}`, async () => {
      const res = await fetch(`${gw.url}/api/public/ip`, { headers: { 'x-forwarded-for': xff } });
      assert.equal(res.status, 200);
      assert.equal(forwardedFor(gw), expected);
      assert.equal(lastAccessLogIp(gw), expected);
    });
  }

  it('believes x-forwarded-proto from the trusted proxy', async () => {
    const res = await fetch(`${gw.url}/api/public/ip`, { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(res.status, 200);
    assert.equal(gw.upstream.seen.at(-1)?.headers['x-forwarded-proto'], 'https');
  });

  it('still drops forwarded and x-real-ip from a trusted proxy', async () => {
    const res = await fetch(`${gw.url}/api/public/ip`, {
      headers: { forwarded: 'for=6.6.6.6', 'x-real-ip': '6.6.6.6', 'x-forwarded-for': '198.51.100.4' },
    });
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.at(-1) as SeenRequest;
    assert.equal(seen.headers.forwarded, undefined);
    assert.equal(seen.headers['x-real-ip'], undefined);
    assert.equal(seen.headers['x-forwarded-for'], '198.51.100.4');
  });
});
