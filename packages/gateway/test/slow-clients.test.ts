import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type StartedServer, startHttpServer } from '@gatehouse/kit/testing';
import { rawRequest, startTestGateway, type TestGateway } from './harness.ts';

/**
 * Attack: slowloris. A client that trickles its request head, or its body,
 * holds a gateway connection (and, for the body, an upstream connection) as
 * long as it likes unless the configured limits are enforced on time:
 * `limits.headersTimeoutMs` for the head, `limits.requestTimeoutMs` for the
 * whole request. Here both are short, and the answer must come close to them.
 */
describe('attack: slow clients (slowloris)', () => {
  let upstream: StartedServer;
  const upstreamClosed: string[] = [];
  let gw: TestGateway;

  before(async () => {
    upstream = await startHttpServer((req: IncomingMessage, res) => {
      req.on('close', () => upstreamClosed.push(req.url ?? ''));
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    gw = await startTestGateway({
      config: {
        limits: { headersTimeoutMs: 1_000, requestTimeoutMs: 1_500 },
        upstreams: { patient: { url: upstream.url, timeout: 'slow' } },
        routes: [{ prefix: '/api', upstream: 'patient', public: ['* /**'] }],
      },
    });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('answers 408 GW_REQUEST_TIMEOUT and closes when the head is not complete within headersTimeoutMs', async () => {
    const started = performance.now();
    const res = await rawRequest(gw.url, 'GET /api/x HTTP/1.1\r\nHost: gateway.test\r\nX-Trickle: 1\r\n', {
      timeoutMs: 4_000,
    });
    const elapsed = performance.now() - started;
    assert.equal(res.status, 408, `no answer after ${Math.round(elapsed)} ms (headersTimeoutMs 1000)`);
    assert.equal(JSON.parse(res.body).code, 'GW_REQUEST_TIMEOUT');
    assert.equal(res.closed, true);
    assert.ok(elapsed < 3_000, `answered after ${Math.round(elapsed)} ms`);
  });

  it('ends a request whose body is not complete within requestTimeoutMs, and releases the upstream', async () => {
    const started = performance.now();
    const res = await rawRequest(
      gw.url,
      'POST /api/slow-body HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 100\r\n\r\nabc',
      { timeoutMs: 4_000 },
    );
    const elapsed = performance.now() - started;
    assert.ok(res.closed, `connection still open after ${Math.round(elapsed)} ms (requestTimeoutMs 1500)`);
    assert.ok(elapsed < 3_500, `ended after ${Math.round(elapsed)} ms`);
    assert.ok(res.status === 408 || res.status === 0, `answered ${res.status}`);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(upstreamClosed.includes('/api/slow-body'), 'the upstream request is still open');
  });
});
