import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { loadTelemetryConfig } from './telemetry-config.ts';
import { captureLogger, startOtlpReceiver } from './testing.ts';
import { activeTraceFields, failSpan } from './trace-context.ts';
import { startTracing } from './tracing.ts';

const REMOTE_TRACE = '0af7651916cd43dd8448eb211c80319c';

/** A context whose parent is a caller's span, sampled or not. */
function remoteParent(sampled: boolean) {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: REMOTE_TRACE,
    spanId: 'b7ad6b7169203331',
    traceFlags: sampled ? 1 : 0,
    isRemote: true,
  });
}

describe('startTracing', () => {
  it('keeps the caller’s sampling decision, samples new traces at the ratio, and exports over OTLP', async () => {
    const receiver = await startOtlpReceiver();
    const { logger } = captureLogger();
    try {
      const config = loadTelemetryConfig(
        { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: '0' },
        'tracing-test',
      );
      const tracing = await startTracing(config, { logger });
      assert.equal(tracing.exporting, true);
      const { tracer } = tracing;
      const root = tracer.startSpan('new trace, ratio 0');
      assert.equal(root.isRecording(), false);
      root.end();
      const unsampled = tracer.startSpan('caller did not sample', {}, remoteParent(false));
      assert.equal(unsampled.isRecording(), false);
      assert.equal(unsampled.spanContext().traceId, REMOTE_TRACE, 'the trace continues, unrecorded');
      unsampled.end();
      const sampled = tracer.startSpan('caller sampled', { kind: SpanKind.SERVER }, remoteParent(true));
      assert.equal(sampled.isRecording(), true);
      const failed = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, sampled));
      failSpan(failed, new Error('boom'));
      sampled.end();
      await tracing.shutdown();

      assert.deepEqual(receiver.spans.map((s) => s.name).sort(), ['caller sampled', 'child']);
      const parent = receiver.spans.find((s) => s.name === 'caller sampled');
      assert.equal(parent?.traceId, REMOTE_TRACE);
      assert.equal(parent?.parentSpanId, 'b7ad6b7169203331');
      assert.equal(parent?.service, 'tracing-test');
      const child = receiver.spans.find((s) => s.name === 'child');
      assert.equal(child?.parentSpanId, parent?.spanId);
      assert.equal(child?.status?.code, 2, 'a failed span is marked as an error');
      assert.equal(child?.status?.message, 'boom');
    } finally {
      await receiver.close();
    }
  });

  it('without an endpoint records nothing, yet a registered tracer carries the trace id to log lines', async () => {
    const { logger, lines } = captureLogger();
    const tracing = await startTracing(loadTelemetryConfig({}, 'quiet'), { logger, register: true });
    try {
      assert.equal(tracing.exporting, false);
      const parent = propagation.extract(ROOT_CONTEXT, {
        traceparent: `00-${REMOTE_TRACE}-b7ad6b7169203331-01`,
      });
      const span = trace.getTracer('t').startSpan('request', {}, parent);
      assert.equal(span.isRecording(), false);
      context.with(trace.setSpan(parent, span), () => {
        assert.equal(activeTraceFields()?.traceId, REMOTE_TRACE);
        logger.info({ event: 'inside' }, 'inside the request');
      });
      logger.info('outside any request');
      span.end();
    } finally {
      await tracing.shutdown();
    }
    assert.equal(lines[0]?.traceId, REMOTE_TRACE);
    assert.equal(typeof lines[0]?.spanId, 'string');
    assert.equal(lines[1]?.traceId, undefined);
    assert.equal(activeTraceFields(), undefined);
  });

  it('warns when the collector cannot be reached, and neither throws nor holds up shutdown', async () => {
    const receiver = await startOtlpReceiver();
    const url = receiver.url;
    await receiver.close();
    const { logger, lines } = captureLogger();
    const tracing = await startTracing(loadTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: url }, 'lost'), {
      logger,
    });
    tracing.tracer.startSpan('lost span').end();
    await tracing.shutdown();
    const warnings = lines.filter((l) => l.event === 'tracing_export');
    assert.ok(warnings.length >= 1 && warnings.length <= 2, JSON.stringify(lines));
    assert.ok(warnings.every((w) => w.level === 'warn'));
  });
});
