import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { spanAttribute as attribute, SPAN_KIND, startOtlpReceiver, waitFor } from '@gatehouse/kit/testing';
import {
  baseEnv,
  type LogLine,
  type RunningAuth,
  type RunningGateway,
  startAuthProcess,
  startGatewayProcess,
} from '../auth/process.ts';

/**
 * One request through the real gateway to the real identity service yields
 * one trace: the caller's trace id, the gateway's server span, its upstream
 * client span, the service's server span as that client span's child, and the
 * service's query spans below it, all exported over OTLP/HTTP to a receiver in
 * this test. Log lines of both processes carry the trace id.
 */

/** Spans are exported once a second and log lines flushed every half second: up to 15 s on a busy machine. */
const SETTLE_MS = 15_000;

describe('an end-to-end trace through the gateway to the identity service', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>> | undefined;
  let auth: RunningAuth | undefined;
  let gateway: RunningGateway | undefined;
  after(async () => {
    await gateway?.stop();
    await auth?.stop('SIGKILL');
    await receiver?.close();
  });

  test('one trace, the spans linked parent to child, the trace id on both processes’ log lines', async () => {
    receiver = await startOtlpReceiver();
    const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const env = baseEnv();
    auth = await startAuthProcess({ ...env, ...otlp });
    gateway = await startGatewayProcess(auth.url, env, otlp);

    const register = await fetch(`${gateway.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `trace-${Date.now()}@example.com`,
        password: 'a trace through every hop 2026',
        name: 'Tracer',
        tenantName: 'Traces',
      }),
    });
    assert.equal(register.status, 201, await register.clone().text());
    const { accessToken } = (await register.json()) as { accessToken: string };

    // The caller (a browser's or an edge's instrumentation) started the trace and sampled it.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const me = await fetch(`${gateway.url}/api/auth/me`, {
      headers: { authorization: `Bearer ${accessToken}`, traceparent: `00-${traceId}-${callerSpan}-01` },
    });
    assert.equal(me.status, 200, await me.clone().text());

    const inTrace = () => receiver?.spans.filter((s) => s.traceId === traceId) ?? [];
    const gatewayServer = await waitFor(
      'the gateway server span',
      () => inTrace().find((s) => s.service === 'gateway' && s.kind === SPAN_KIND.server),
      SETTLE_MS,
    );
    assert.equal(gatewayServer.parentSpanId, callerSpan, 'the gateway continues the caller’s trace');
    assert.equal(gatewayServer.name, 'GET /api/auth');
    assert.equal(attribute(gatewayServer, 'http.response.status_code'), 200);

    const upstreamCall = await waitFor(
      'the gateway client span',
      () => inTrace().find((s) => s.service === 'gateway' && s.kind === SPAN_KIND.client),
      SETTLE_MS,
    );
    assert.equal(upstreamCall.parentSpanId, gatewayServer.spanId);
    assert.equal(attribute(upstreamCall, 'gatehouse.upstream'), 'auth');

    const verify = inTrace().find((s) => s.name === 'gateway.verify_token');
    assert.equal(verify?.parentSpanId, gatewayServer.spanId, 'the token was new to the gateway: verified');

    const authServer = await waitFor(
      'the auth server span',
      () => inTrace().find((s) => s.service === 'auth' && s.kind === SPAN_KIND.server),
      SETTLE_MS,
    );
    assert.equal(
      authServer.parentSpanId,
      upstreamCall.spanId,
      'the service span is the upstream call’s child',
    );
    assert.equal(authServer.name, 'GET /api/auth/me');

    const query = await waitFor(
      'a query span',
      () =>
        inTrace().find(
          (s) => s.service === 'auth' && s.kind === SPAN_KIND.client && s.parentSpanId === authServer.spanId,
        ),
      SETTLE_MS,
    );
    assert.equal(attribute(query, 'db.system.name'), 'postgresql');
    assert.match(String(attribute(query, 'db.query.text')), /\$1/, 'placeholders, never values');
    assert.ok(
      receiver.posts.every((p) => p.startsWith('POST /v1/traces application/json')),
      receiver.posts.join(),
    );

    // Both processes name the trace on the lines about this request.
    const hasTrace = (lines: LogLine[]) => lines.some((l) => l.traceId === traceId && l.msg !== undefined);
    await waitFor(
      'the gateway access line',
      () => (hasTrace(gateway?.lines() ?? []) ? true : undefined),
      SETTLE_MS,
    );
    const access = gateway.lines().find((l) => l.msg === 'request' && l.traceId === traceId);
    assert.equal(access?.status, 200);
    await waitFor('the auth request line', () => (hasTrace(auth?.lines ?? []) ? true : undefined), SETTLE_MS);
    const done = auth.lines.find((l) => l.msg === 'request done' && l.traceId === traceId);
    assert.equal(done?.route, '/api/auth/me');
  });
});
