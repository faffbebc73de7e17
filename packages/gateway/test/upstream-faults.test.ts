import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startFaultProxy } from './fault-proxy.ts';
import { problemOf, startEchoUpstream, startTestGateway } from './harness.ts';

/** The proxy stage against an upstream behind a TCP fault proxy: slow, reset, trickling. */
async function setup(timeout = 500) {
  const body = 'x'.repeat(2_000);
  const upstream = await startEchoUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length) });
    res.end(body);
  });
  const fault = await startFaultProxy(upstream.url);
  const gw = await startTestGateway({
    upstream,
    config: {
      upstreams: {
        echo: { url: fault.url, timeout, retries: { attempts: 0 }, breaker: { minimumRequests: 1_000 } },
      },
      routes: [{ prefix: '/api', upstream: 'echo', public: ['* /**'] }],
    },
  });
  after(async () => {
    await gw.close();
    await fault.close();
    await upstream.close();
  });
  return { gw, fault, body };
}

describe('upstream faults', () => {
  it('passes the answer through untouched', async () => {
    const { gw, body } = await setup();
    const res = await fetch(`${gw.url}/api/x`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), body);
  });

  it('answers 504 when the upstream is slower than the route timeout', async () => {
    const { gw, fault } = await setup(300);
    fault.mode = { kind: 'delay', ms: 1_000 };
    const started = performance.now();
    const res = await fetch(`${gw.url}/api/x`);
    assert.equal(res.status, 504);
    assert.equal((await problemOf(res)).code, 'GW_UPSTREAM_TIMEOUT');
    assert.ok(
      performance.now() - started < 900,
      'answered at the timeout, not when the upstream finally did',
    );
  });

  it('answers 502 when the connection is reset before any answer', async () => {
    const { gw, fault } = await setup();
    fault.mode = { kind: 'reset' };
    const res = await fetch(`${gw.url}/api/x`);
    assert.equal(res.status, 502);
    assert.equal((await problemOf(res)).code, 'GW_UPSTREAM_UNAVAILABLE');
  });

  it('cuts the client connection when the upstream resets after the answer began', async () => {
    const { gw, fault } = await setup();
    fault.mode = { kind: 'reset-after-head' };
    const res = await fetch(`${gw.url}/api/x`);
    assert.equal(res.status, 200, 'the head was already sent');
    await assert.rejects(
      res.text(),
      'the body cannot complete: the client sees a broken answer, not a short one',
    );
  });

  it('streams a trickling answer to the end as long as chunks keep coming within the timeout', async () => {
    const { gw, fault, body } = await setup(1_000);
    fault.mode = { kind: 'trickle', bytes: 100, everyMs: 20 };
    const res = await fetch(`${gw.url}/api/x`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), body);
  });
});
