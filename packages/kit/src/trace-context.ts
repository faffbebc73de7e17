import { isSpanContextValid, type Span, SpanStatusCode, trace } from '@opentelemetry/api';

/** The active span's trace and span ids, for a log line (services: the request's server span). */
export function activeTraceFields(): { traceId: string; spanId: string } | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : undefined;
}

/** Ends `span` as failed with `err` recorded (only recording spans keep it). */
export function failSpan(span: Span, err: unknown): void {
  if (span.isRecording()) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}
