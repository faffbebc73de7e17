import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createAssertionVerifier, createServiceCallSigner } from '@gatehouse/kit';
import { randomSecret, type StartedServer, startHttpServer } from '@gatehouse/kit/testing';
import { CircuitBreaker } from './breaker.ts';
import { type InternalAnswer, InternalClient, type InternalClientOptions } from './internal-client.ts';

const keys = [{ kid: 'gw1', secret: randomSecret() }];
const sign = createServiceCallSigner(keys, 'gateway');

/** What the test service does next: answer `text`, stall, or trickle a long body. */
let behave: (res: ServerResponse, url: string) => void = () => {};
let calls = 0;

function text(answer: InternalAnswer) {
  return { value: answer.text, healthy: answer.statusCode < 500 };
}

describe('InternalClient', () => {
  let server: StartedServer;
  before(async () => {
    server = await startHttpServer((req, res) => {
      calls++;
      // The signed assertion travels in headers; echo whether it verifies for this method and path.
      const verified = createAssertionVerifier(keys)(req.headers['x-gateway-assertion'], {
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        requestId: String(req.headers['x-request-id'] ?? ''),
      });
      res.setHeader('x-signed', String(verified.ok));
      behave(res, req.url ?? '');
    });
  });
  after(() => server.close());

  function client(extra: Partial<InternalClientOptions> = {}): InternalClient {
    return new InternalClient({
      url: server.url,
      sign,
      timeoutMs: 2_000,
      maxBodyBytes: 16,
      what: 'answer',
      ...extra,
    });
  }

  it('signs the path (not the query) and hands the interpreter the 200 body', async () => {
    behave = (res, url) => res.end(url);
    let signedHeader: unknown;
    const value = await client().call({ method: 'GET', path: '/internal/x', query: '?a=1' }, (answer) => {
      signedHeader = answer.headers['x-signed'];
      return text(answer);
    });
    assert.equal(value, '/internal/x?a=1');
    assert.equal(signedHeader, 'true');
  });

  it('fails a call past its deadline, even while the body trickles in', async () => {
    behave = (res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(timer));
    };
    const started = Date.now();
    await assert.rejects(
      client({ timeoutMs: 300, maxBodyBytes: 1_000_000 }).call({ method: 'GET', path: '/slow' }, text),
      (err: { code?: string; message: string }) =>
        err.code === 'INTERNAL_TIMEOUT' && err.message === 'no answer within 300 ms',
    );
    assert.ok(Date.now() - started < 1_500, 'gave up near the deadline');
  });

  it('refuses a body over the cap, declared or counted', async () => {
    behave = (res) => {
      res.setHeader('content-length', '40');
      res.end('x'.repeat(40));
    };
    await assert.rejects(
      client().call({ method: 'GET', path: '/big' }, text),
      (err: { code?: string; declared?: boolean; message: string }) =>
        err.code === 'INTERNAL_BODY_UNREADABLE' &&
        err.declared === true &&
        /larger than 16 bytes/.test(err.message),
    );
    behave = (res) => {
      res.write('x'.repeat(10));
      res.end('y'.repeat(10));
    };
    await assert.rejects(
      client().call({ method: 'GET', path: '/chunked' }, text),
      (err: { code?: string; declared?: boolean }) =>
        err.code === 'INTERNAL_BODY_UNREADABLE' && err.declared === false,
    );
  });

  it('opens its breaker on failing answers and then refuses without calling', async () => {
    const breaker = new CircuitBreaker('test', {
      windowMs: 10_000,
      buckets: 10,
      minimumRequests: 3,
      failureRate: 0.5,
      openMs: 60_000,
      halfOpenProbes: 1,
      probeTimeoutMs: 1_000,
    });
    const c = client({ breaker });
    behave = (res) => {
      res.statusCode = 503;
      res.end('down');
    };
    for (let i = 0; i < 3; i++) {
      // A 503 is judged unhealthy: it counts, though the call itself resolves.
      assert.equal(await c.call({ method: 'GET', path: '/down' }, text), '');
    }
    assert.equal(breaker.state, 'open');
    const before = calls;
    await assert.rejects(
      c.call({ method: 'GET', path: '/down' }, text),
      (err: { code?: string }) => err.code === 'INTERNAL_CIRCUIT_OPEN',
    );
    assert.equal(calls, before, 'no call while open');
  });

  it('does not count what the caller judges healthy', async () => {
    const breaker = new CircuitBreaker('test', {
      windowMs: 10_000,
      buckets: 10,
      minimumRequests: 2,
      failureRate: 0.5,
      openMs: 60_000,
      halfOpenProbes: 1,
      probeTimeoutMs: 1_000,
    });
    behave = (res) => {
      res.statusCode = 404;
      res.end();
    };
    const c = client({ breaker });
    for (let i = 0; i < 5; i++) await c.call({ method: 'GET', path: '/none' }, text);
    assert.equal(breaker.state, 'closed');
  });
});
