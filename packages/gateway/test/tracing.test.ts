import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadTelemetryConfig } from '@gatehouse/kit';
import {
  captureLogger,
  type OtlpSpan,
  SPAN_KIND,
  spanAttribute,
  startOtlpReceiver,
  waitFor,
} from '@gatehouse/kit/testing';
import { startTracing, type Tracing } from '@gatehouse/kit/tracing';
import { type SeenRequest, startEchoUpstream, startTestGateway, type TestGateway } from './harness.ts';

/**
 * The gateway's spans with tracing on (ratio 0 for new traces, so only a
 * caller's sampled decision records): the server span continues the caller's
 * trace, the stages that wait get child spans, each upstream attempt is a
 * client span whose id the upstream receives as its parent; an unsampled
 * request records nothing and still passes its trace on.
 */
describe('gateway spans', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let tracing: Tracing;
  let gw: TestGateway;
  let failFirst = 0;

  before(async () => {
    receiver = await startOtlpReceiver();
    const config = loadTelemetryConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: '0' },
      'gateway',
    );
    tracing = await startTracing(config, { logger: captureLogger().logger, callerSamplesNewTraces: true });
    const upstream = await startEchoUpstream((_req: SeenRequest, res) => {
      const status = failFirst > 0 ? 503 : 200;
      failFirst = Math.max(0, failFirst - 1);
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
    gw = await startTestGateway({
      upstream,
      tracing,
      config: {
        upstreams: {
          echo: {
            url: upstream.url,
            timeout: 'fast',
            retries: { attempts: 2, backoffMs: 1, budgetPercent: 100 },
          },
        },
      },
    });
  });
  after(async () => {
    await gw.close();
    await gw.upstream.close();
    await tracing.shutdown();
    await receiver.close();
  });

  async function spansOf(traceId: string, count: number): Promise<OtlpSpan[]> {
    return waitFor(`${count} spans of ${traceId}`, () => {
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      return spans.length >= count ? spans : undefined;
    });
  }

  it('a sampled caller: server, token and upstream spans, linked; the upstream’s parent is the attempt', async () => {
    const traceId = 'a1a2a3a4a5a6a7a8a9a0b1b2b3b4b5b6';
    const token = await gw.token({ sub: 'traced-user', tid: 'traced-tenant' });
    const res = await fetch(`${gw.url}/api/items/7`, {
      headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-1111111111111111-01` },
    });
    assert.equal(res.status, 200);
    const spans = await spansOf(traceId, 3);
    const server = spans.find((s) => s.kind === SPAN_KIND.server);
    assert.equal(server?.parentSpanId, '1111111111111111');
    assert.equal(server?.name, 'GET /api');
    assert.equal(spanAttribute(server as OtlpSpan, 'enduser.id'), 'traced-user');
    assert.equal(spanAttribute(server as OtlpSpan, 'gatehouse.tenant_id'), 'traced-tenant');
    const verify = spans.find((s) => s.name === 'gateway.verify_token');
    assert.equal(verify?.parentSpanId, server?.spanId);
    const attempt = spans.find((s) => s.kind === SPAN_KIND.client);
    assert.equal(attempt?.parentSpanId, server?.spanId);
    assert.equal(spanAttribute(attempt as OtlpSpan, 'http.response.status_code'), 200);
    const seen = gw.upstream.seen.at(-1);
    assert.equal(seen?.headers.traceparent, `00-${traceId}-${attempt?.spanId}-01`);
  });

  it('a retried request: one client span per attempt, the failed one marked', async () => {
    const traceId = 'c1c2c3c4c5c6c7c8c9c0d1d2d3d4d5d6';
    failFirst = 1;
    const res = await fetch(`${gw.url}/api/public/x`, {
      headers: { traceparent: `00-${traceId}-2222222222222222-01` },
    });
    assert.equal(res.status, 200);
    const spans = await spansOf(traceId, 3);
    const attempts = spans
      .filter((s) => s.kind === SPAN_KIND.client)
      .sort(
        (a, b) =>
          Number(spanAttribute(a, 'http.request.resend_count')) -
          Number(spanAttribute(b, 'http.request.resend_count')),
      );
    assert.equal(attempts.length, 2);
    assert.equal(spanAttribute(attempts[0] as OtlpSpan, 'http.response.status_code'), 503);
    assert.equal(attempts[0]?.status?.code, 2);
    assert.equal(spanAttribute(attempts[1] as OtlpSpan, 'http.response.status_code'), 200);
  });

  it('a refused request ends its server span with the status and the reason', async () => {
    const traceId = 'e1e2e3e4e5e6e7e8e9e0f1f2f3f4f5f6';
    const res = await fetch(`${gw.url}/api/items`, {
      headers: { authorization: 'Bearer not-a-token', traceparent: `00-${traceId}-3333333333333333-01` },
    });
    assert.equal(res.status, 401);
    const spans = await spansOf(traceId, 2);
    const server = spans.find((s) => s.kind === SPAN_KIND.server);
    const verify = spans.find((s) => s.name === 'gateway.verify_token');
    assert.equal(verify?.status?.code, 2, 'the failed verification is marked');
    assert.equal(spanAttribute(server as OtlpSpan, 'http.response.status_code'), 401);
    assert.equal(typeof spanAttribute(server as OtlpSpan, 'gatehouse.failure'), 'string');
  });

  it('an unsampled caller: nothing recorded, the trace (unsampled) still reaches the upstream', async () => {
    const traceId = '0102030405060708090a0b0c0d0e0f10';
    const res = await fetch(`${gw.url}/api/public/quiet`, {
      headers: { traceparent: `00-${traceId}-4444444444444444-00` },
    });
    assert.equal(res.status, 200);
    const forwarded = String(gw.upstream.seen.at(-1)?.headers.traceparent);
    assert.match(forwarded, new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    assert.doesNotMatch(forwarded, /4444444444444444/, 'the gateway’s own hop has its own span id');
    // A sampled request after it: once its spans arrive, the batch that would hold the other's has gone.
    const marker = 'ffeeddccbbaa99887766554433221100';
    await fetch(`${gw.url}/api/public/marker`, {
      headers: { traceparent: `00-${marker}-5555555555555555-01` },
    });
    await spansOf(marker, 2);
    assert.equal(receiver.spans.filter((s) => s.traceId === traceId).length, 0);
    // New traces (no caller) are sampled at the ratio, here 0: the upstream gets a fresh, unsampled trace.
    await fetch(`${gw.url}/api/public/fresh`);
    assert.match(String(gw.upstream.seen.at(-1)?.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});
