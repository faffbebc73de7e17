import { failSpan } from '@gatehouse/kit';
import {
  type Attributes,
  createTraceState,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { RequestContext } from './context.ts';

/**
 * The gateway's spans, with the tracer passed in (no global provider, no
 * async context: the request context carries the server span). Child spans
 * are made only under a recorded server span, so a request that is not
 * sampled costs one sampling decision and nothing more.
 */
export class RequestTracing {
  readonly #tracer: Tracer;
  readonly #ratio: number;

  constructor(tracer: Tracer, sampleRatio: number) {
    this.#tracer = tracer;
    this.#ratio = sampleRatio;
  }

  /**
   * Whether this request is recorded: the caller's decision when it sent a valid traceparent
   * (the sampled flag), else the configured share of new traces. Decided before the SDK is
   * touched, so an unsampled request costs nothing more than with tracing off.
   */
  sampled(parent: RegExpExecArray | null): boolean {
    if (parent !== null) return (Number.parseInt(parent[3] as string, 16) & 1) === 1;
    return this.#ratio >= 1 || Math.random() < this.#ratio;
  }

  /** Stage 1, for a sampled request: the server span, continuing the caller's trace if it sent one. */
  startServer(ctx: RequestContext, parent: RegExpExecArray | null, traceState: string | undefined): Span {
    const parentContext =
      parent === null
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, {
            traceId: parent[1] as string,
            spanId: parent[2] as string,
            traceFlags: Number.parseInt(parent[3] as string, 16) & 1,
            isRemote: true,
            traceState: traceState === undefined ? undefined : createTraceState(traceState),
          });
    const span = this.#tracer.startSpan(
      ctx.method,
      { kind: SpanKind.SERVER, startTime: performance.timeOrigin + ctx.started },
      parentContext,
    );
    if (span.isRecording()) {
      span.setAttribute('http.request.method', ctx.method);
      span.setAttribute('url.path', (ctx.req.url ?? '/').split('?', 1)[0] as string);
    }
    return span;
  }

  /** A child of the request's server span, or undefined when the request is not recorded. */
  child(ctx: RequestContext, name: string, kind: SpanKind, attributes: Attributes): Span | undefined {
    const parent = ctx.span;
    if (parent === undefined || !parent.isRecording()) return undefined;
    return this.#tracer.startSpan(name, { kind, attributes }, trace.setSpan(ROOT_CONTEXT, parent));
  }

  /** Runs `work` inside a child span that ends (failed, if it throws) when the promise settles. */
  wrap<T>(ctx: RequestContext, name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
    const span = this.child(ctx, name, SpanKind.INTERNAL, attributes);
    if (span === undefined) return work();
    return work().then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        failSpan(span, err);
        throw err;
      },
    );
  }

  /** Ends the server span when the answer is complete (or the client left). */
  endServer(ctx: RequestContext, route: string, status: number): void {
    const span = ctx.span;
    if (span === undefined) return;
    if (span.isRecording()) {
      span.updateName(`${ctx.method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', status);
      if (ctx.clientIp !== '') span.setAttribute('client.address', ctx.clientIp);
      if (ctx.identity !== undefined) {
        span.setAttribute('enduser.id', ctx.identity.sub);
        span.setAttribute('gatehouse.tenant_id', ctx.identity.tid);
      }
      if (ctx.failure !== undefined) span.setAttribute('gatehouse.failure', ctx.failure);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

/** A `traceparent` naming `span` as the parent (for the upstream hop). */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-0${traceFlags & 1}`;
}
