import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { problemOf, type SeenRequest, startEchoUpstream, startTestGateway } from './harness.ts';

/**
 * Breakers, retries and the concurrency cap against a real upstream whose
 * answers a test controls, counted where they land: at the upstream.
 */

interface Script {
  status: number;
  delayMs?: number;
}

async function scriptedUpstream() {
  const script: Script = { status: 200 };
  const upstream = await startEchoUpstream((_req: SeenRequest, res) => {
    const answer = () => {
      res.writeHead(script.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: script.status }));
    };
    if (script.delayMs !== undefined) setTimeout(answer, script.delayMs);
    else answer();
  });
  after(() => upstream.close());
  return { upstream, script };
}

describe('retries', () => {
  it('retries a GET that got 503 and serves the retry, counted at the upstream; never a POST', async () => {
    const { upstream, script } = await scriptedUpstream();
    const gw = await startTestGateway({
      upstream,
      config: {
        upstreams: {
          echo: {
            url: upstream.url,
            timeout: 'fast',
            retries: { attempts: 2, backoffMs: 1, budgetPercent: 100 },
          },
        },
        routes: [{ prefix: '/api', upstream: 'echo', public: ['* /**'] }],
      },
    });
    after(() => gw.close());

    script.status = 503;
    const get = await fetch(`${gw.url}/api/items`);
    assert.equal(get.status, 503, 'every attempt failed: the last answer is passed on');
    assert.equal(upstream.seen.length, 3, 'one attempt and two retries');
    assert.equal(((await get.json()) as { status: number }).status, 503);

    upstream.seen.length = 0;
    const post = await fetch(`${gw.url}/api/items`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 503);
    assert.equal(upstream.seen.length, 1, 'a POST is never retried');

    upstream.seen.length = 0;
    const keyed = await fetch(`${gw.url}/api/items`, {
      method: 'DELETE',
      headers: { 'idempotency-key': 'k-1' },
    });
    assert.equal(keyed.status, 503);
    assert.equal(upstream.seen.length, 3, 'an Idempotency-Key makes a bodiless request retryable');

    upstream.seen.length = 0;
    script.status = 404;
    assert.equal((await fetch(`${gw.url}/api/items`)).status, 404);
    assert.equal(upstream.seen.length, 1, '4xx is not retried');

    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /gateway_retries_total\{service="echo",reason="503"\} [1-9]/);
    assert.match(metrics, /gateway_downstream_requests_total\{service="echo",status="503"\} [1-9]/);
  });

  it('keeps retries within the budget when an upstream keeps failing', async () => {
    const { upstream, script } = await scriptedUpstream();
    const gw = await startTestGateway({
      upstream,
      config: {
        upstreams: {
          echo: {
            url: upstream.url,
            retries: { attempts: 2, backoffMs: 1, budgetPercent: 20 },
            breaker: { minimumRequests: 100_000 },
          },
        },
        routes: [{ prefix: '/api', upstream: 'echo', public: ['* /**'] }],
      },
    });
    after(() => gw.close());
    script.status = 502;
    for (let i = 0; i < 100; i++) assert.equal((await fetch(`${gw.url}/api/x`)).status, 502);
    const extra = upstream.seen.length - 100;
    assert.ok(
      extra <= 100 * 0.2 + 2,
      `retries added ${extra} attempts to 100 requests (budget 20% + reserve)`,
    );
    assert.ok(extra >= 10, `the budget allowed retries at all (${extra})`);
  });

  it('retries a refused connection on another attempt and answers 502 when none succeeds', async () => {
    const gw = await startTestGateway({
      config: {
        upstreams: {
          echo: { url: 'http://127.0.0.1:1', timeout: 'fast', retries: { attempts: 1, backoffMs: 1 } },
        },
        routes: [{ prefix: '/api', upstream: 'echo', public: ['* /**'] }],
      },
    });
    after(() => gw.close());
    const res = await fetch(`${gw.url}/api/x`);
    assert.equal(res.status, 502);
    assert.equal((await problemOf(res)).code, 'GW_UPSTREAM_UNAVAILABLE');
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /gateway_retries_total\{service="echo",reason="ECONNREFUSED"\} 1/);
  });
});

describe('circuit breaker', () => {
  it('opens on failures, answers 503 fast with Retry-After, half-opens with a probe and closes', async () => {
    const { upstream, script } = await scriptedUpstream();
    const gw = await startTestGateway({
      upstream,
      config: {
        upstreams: {
          echo: {
            url: upstream.url,
            timeout: 'fast',
            retries: { attempts: 0 },
            breaker: { minimumRequests: 5, failureRatePercent: 50, openSeconds: 1, halfOpenProbes: 1 },
          },
        },
        routes: [{ prefix: '/api', upstream: 'echo', public: ['* /**'] }],
      },
    });
    after(() => gw.close());
    script.status = 500;
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${gw.url}/api/x`)).status, 500);
    const seenBefore = upstream.seen.length;
    const open = await fetch(`${gw.url}/api/x`);
    assert.equal(open.status, 503);
    assert.equal((await problemOf(open)).code, 'GW_UPSTREAM_CIRCUIT_OPEN');
    assert.equal(open.headers.get('retry-after'), '1');
    assert.equal(upstream.seen.length, seenBefore, 'an open breaker does not call the upstream');
    const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
      upstreams: { breaker: string }[];
    };
    assert.equal(health.upstreams[0]?.breaker, 'open');
    assert.match(
      await (await fetch(`${gw.adminUrl}/metrics`)).text(),
      /gateway_circuit_breaker_state\{service="echo"\} 1/,
    );

    script.status = 200;
    await new Promise((r) => setTimeout(r, 1_100));
    assert.equal((await fetch(`${gw.url}/api/x`)).status, 200, 'the probe goes through and succeeds');
    assert.equal((await fetch(`${gw.url}/api/x`)).status, 200, 'closed again');
    assert.match(
      await (await fetch(`${gw.adminUrl}/metrics`)).text(),
      /gateway_circuit_breaker_state\{service="echo"\} 0/,
    );
    assert.ok(gw.logs.lines.some((l) => l.event === 'circuit_breaker' && l.state === 'open'));
    assert.ok(gw.logs.lines.some((l) => l.event === 'circuit_breaker' && l.state === 'closed'));
  });

  it('does not count 4xx answers as failures', async () => {
    const { upstream, script } = await scriptedUpstream();
    const gw = await startTestGateway({
      upstream,
      config: {
        upstreams: { echo: { url: upstream.url, breaker: { minimumRequests: 3 }, retries: { attempts: 0 } } },
        routes: [{ prefix: '/api', upstream: 'echo', public: ['* /**'] }],
      },
    });
    after(() => gw.close());
    script.status = 404;
    for (let i = 0; i < 10; i++) assert.equal((await fetch(`${gw.url}/api/x`)).status, 404);
    const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
      upstreams: { breaker: string }[];
    };
    assert.equal(health.upstreams[0]?.breaker, 'closed');
    assert.equal(upstream.seen.length, 10);
  });
});

describe('concurrency cap', () => {
  it('answers 503 GW_UPSTREAM_BUSY at once past maxConcurrent, so one slow service cannot take everything', async () => {
    const { upstream, script } = await scriptedUpstream();
    const gw = await startTestGateway({
      upstream,
      config: {
        upstreams: { echo: { url: upstream.url, maxConcurrent: 2, retries: { attempts: 0 } } },
        routes: [{ prefix: '/api', upstream: 'echo', public: ['* /**'] }],
      },
    });
    after(() => gw.close());
    script.delayMs = 300;
    const slow = [fetch(`${gw.url}/api/a`), fetch(`${gw.url}/api/b`)];
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    const busy = await fetch(`${gw.url}/api/c`);
    assert.equal(busy.status, 503);
    assert.equal((await problemOf(busy)).code, 'GW_UPSTREAM_BUSY');
    assert.ok(performance.now() - started < 250, 'refused without waiting for the slow ones');
    assert.deepEqual(
      (await Promise.all(slow)).map((r) => r.status),
      [200, 200],
    );
  });
});
