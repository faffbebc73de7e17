import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type StartedServer, startHttpServer } from '@gatehouse/kit/testing';
import { problemOf, startTestGateway, type TestGateway } from './harness.ts';

/**
 * The upstream fails: it is not listening (502 GW_UPSTREAM_UNAVAILABLE), it
 * never answers (504 GW_UPSTREAM_TIMEOUT within the route's timeout), or the
 * client goes away mid-request (the upstream request is cancelled).
 */

describe('upstream failures', () => {
  let hanging: StartedServer;
  const held: { req: IncomingMessage; res: ServerResponse; closedAt?: number }[] = [];
  let deadUrl: string;
  let gw: TestGateway;

  before(async () => {
    hanging = await startHttpServer((req, res) => {
      const entry: (typeof held)[number] = { req, res };
      held.push(entry);
      res.on('close', () => {
        entry.closedAt = performance.now();
      });
    });
    const dead = await startHttpServer(() => {});
    deadUrl = dead.url;
    await dead.close();
    gw = await startTestGateway({
      config: {
        upstreams: {
          dead: { url: deadUrl, timeout: 'fast' },
          hanging: { url: hanging.url, timeout: 'fast' },
        },
        routes: [
          { prefix: '/dead', upstream: 'dead', public: ['* /**'] },
          { prefix: '/slow', upstream: 'hanging', public: ['* /**'], timeout: 300 },
          { prefix: '/hold', upstream: 'hanging', public: ['* /**'] },
        ],
      },
    });
  });
  after(async () => {
    await gw.close();
    await hanging.close();
  });

  it('answers 502 GW_UPSTREAM_UNAVAILABLE when the upstream is not listening', async () => {
    const res = await fetch(`${gw.url}/dead/x`);
    assert.equal(res.status, 502);
    const body = await problemOf(res);
    assert.equal(body.code, 'GW_UPSTREAM_UNAVAILABLE');
    assert.equal(typeof body.requestId, 'string');
    assert.ok(!JSON.stringify(body).includes(new URL(deadUrl).port), 'the answer leaks the upstream address');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  it('answers 504 GW_UPSTREAM_TIMEOUT within the route timeout (300 ms) when the upstream never answers', async () => {
    const started = performance.now();
    const res = await fetch(`${gw.url}/slow/x`);
    const elapsed = performance.now() - started;
    assert.equal(res.status, 504);
    assert.equal((await problemOf(res)).code, 'GW_UPSTREAM_TIMEOUT');
    assert.ok(elapsed >= 280, `answered after ${elapsed} ms, before the timeout`);
    assert.ok(elapsed < 1_500, `answered after ${elapsed} ms`);
    // The timed-out upstream request is cancelled, not left open.
    const entry = held.find((h) => h.req.url === '/slow/x');
    assert.ok(entry !== undefined, 'the upstream never saw the request');
    await waitFor(() => entry.closedAt !== undefined, 1_000);
  });

  it('cancels the upstream request when the client aborts mid-request', async () => {
    const abort = new AbortController();
    const pending = fetch(`${gw.url}/hold/abandoned`, { signal: abort.signal }).catch((err: unknown) => err);
    await waitFor(() => held.some((h) => h.req.url === '/hold/abandoned'), 2_000);
    const entry = held.find((h) => h.req.url === '/hold/abandoned');
    if (entry === undefined) assert.fail('the upstream never saw the request');
    const closedAt = () => entry.closedAt;
    assert.equal(closedAt(), undefined, 'the upstream request ended before the client aborted');
    const abortedAt = performance.now();
    abort.abort();
    assert.ok((await pending) instanceof Error);
    await waitFor(() => closedAt() !== undefined, 2_000);
    assert.ok((closedAt() ?? Number.POSITIVE_INFINITY) - abortedAt < 2_000);
    assert.equal(entry.res.writableFinished, false, 'the upstream answered an abandoned request');
  });

  it('logs the abandoned request with status 499 once', async () => {
    await waitFor(() => gw.logs.lines.some((l) => l.msg === 'request' && l.status === 499), 2_000);
    const lines = gw.logs.lines.filter((l) => l.msg === 'request' && l.route === '/hold');
    assert.equal(lines.length, 1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('upstream dies mid-answer', () => {
  let gw: TestGateway;
  let upstream: StartedServer;
  before(async () => {
    upstream = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    gw = await startTestGateway({
      config: {
        upstreams: { broken: { url: upstream.url, timeout: 'fast' } },
        routes: [{ prefix: '/broken', upstream: 'broken', public: ['* /**'] }],
      },
    });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('cuts the client answer short instead of completing it or hanging', async () => {
    const started = performance.now();
    const res = await fetch(`${gw.url}/broken/x`);
    assert.equal(res.status, 200);
    const outcome = await res.text().then(
      (text) => ({ ok: true as const, text }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    assert.equal(outcome.ok, false, 'a truncated body was presented as complete');
    assert.ok(performance.now() - started < 2_000);
  });
});
