import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startEchoUpstream, startTestGateway } from './harness.ts';
import { until } from './websocket-harness.ts';

/**
 * Server-sent events and other long answers stream through the proxy as they
 * are written (no buffering), under the route's `streamTimeout` instead of its
 * standard timeout, and a client that leaves cancels the upstream's stream.
 * The scenario (a 60 s stream under a 5 s timeout) is run here scaled
 * down: a 4.5 s stream with gaps of 1.5 s under a 300 ms timeout.
 */

// undici checks body timeouts on a timer that ticks every ~0.5 s: gaps well above it.
const GAP_MS = 1_500;
const EVENTS = 3;

async function sseGateway() {
  const cancelled: number[] = [];
  const upstream = await startEchoUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.flushHeaders();
    let sent = 0;
    const timer = setInterval(() => {
      res.write(`id: ${sent}\ndata: {"n":${sent},"at":${Date.now()}}\n\n`);
      if (++sent === EVENTS) {
        clearInterval(timer);
        res.end();
      }
    }, GAP_MS);
    res.on('close', () => {
      if (!res.writableFinished) cancelled.push(sent);
      clearInterval(timer);
    });
  });
  const gw = await startTestGateway({
    upstream,
    config: {
      upstreams: { echo: { url: upstream.url, timeout: 300, retries: { attempts: 0 } } },
      routes: [
        { prefix: '/events', upstream: 'echo', public: ['GET /**'], streamTimeout: 'fast' },
        { prefix: '/plain', upstream: 'echo', public: ['GET /**'] },
      ],
    },
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });
  return { gw, cancelled };
}

describe('streams', () => {
  it('passes an event stream untouched and unbuffered, longer than the standard timeout', async () => {
    const { gw } = await sseGateway();
    const asked = Date.now();
    const res = await fetch(`${gw.url}/events/feed`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.ok(Date.now() - asked < GAP_MS / 2, 'the headers come at once, not with the first event');
    const arrivals: { n: number; lagMs: number }[] = [];
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      for (const match of text.matchAll(/data: (\{[^\n]*\})\n\n/g)) {
        const event = JSON.parse(match[1] as string) as { n: number; at: number };
        if (!arrivals.some((a) => a.n === event.n))
          arrivals.push({ n: event.n, lagMs: Date.now() - event.at });
      }
    }
    assert.deepEqual(
      arrivals.map((a) => a.n),
      [0, 1, 2],
    );
    // Each event arrives as it is written, not when the stream ends (GAP_MS apart).
    for (const { lagMs } of arrivals) assert.ok(lagMs < GAP_MS / 2, `event arrived ${lagMs} ms late`);
    assert.equal(text.split('data:').length - 1, EVENTS, 'nothing added or lost');
  });

  it('without a stream timeout class the route’s standard timeout cuts the same stream', async () => {
    const { gw } = await sseGateway();
    // Cut before the first event: the client sees the connection close, not a complete stream.
    await assert.rejects(
      fetch(`${gw.url}/plain/feed`).then((res) => res.text()),
      /fetch failed|terminated/,
    );
  });

  it('a client that leaves cancels the upstream’s stream', async () => {
    const { gw, cancelled } = await sseGateway();
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/events/feed`, { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await until(() => cancelled.length === 1, 1_000, 'upstream stream cancelled');
    assert.ok((cancelled[0] as number) < EVENTS);
  });
});
