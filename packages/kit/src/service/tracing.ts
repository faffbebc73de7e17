import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Probes and scrapes make no spans: they would drown the traces that matter. */
const UNTRACED = new Set(['/live', '/ready', '/metrics']);

const spans = new WeakMap<FastifyRequest, Span>();

/** The request's server span (undefined for probes, or before onRequest ran). */
export function requestSpan(req: FastifyRequest): Span | undefined {
  return spans.get(req);
}

/**
 * A server span per request, continuing the caller's W3C trace context (the
 * gateway's), made the active context for the hooks and handler that follow,
 * so the queries they run become its children. Uses the process's tracer
 * provider (kit/tracing.ts registers it); with none, spans are no-ops.
 */
export function addRequestTracing(app: FastifyInstance): void {
  const tracer = trace.getTracer('@gatehouse/kit/service');

  app.addHook('onRequest', (req, _reply, done) => {
    const route = req.routeOptions.url;
    if (route !== undefined && UNTRACED.has(route)) {
      done();
      return;
    }
    const parent: Context = propagation.extract(ROOT_CONTEXT, req.headers);
    const name = route === undefined ? req.method : `${req.method} ${route}`;
    const span = tracer.startSpan(
      name,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'http.route': route ?? 'unmatched',
          'url.path': req.url.split('?', 1)[0],
          'gatehouse.request_id': req.id,
        },
      },
      parent,
    );
    spans.set(req, span);
    // Everything after this hook (later hooks, the handler, its queries) runs in the span's context.
    context.with(trace.setSpan(parent, span), done);
  });

  app.addHook('onResponse', (req, reply, done) => {
    const span = spans.get(req);
    if (span !== undefined) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
