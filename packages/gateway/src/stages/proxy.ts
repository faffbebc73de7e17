import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { type RequestTracing, traceparentOf } from '../tracing.ts';
import { BODY_TOO_LARGE, BodyLimit } from '../upstream/body-limit.ts';
import { CLIENT_GONE, codeError, ProxyHandler, UPSTREAM_DEADLINE } from '../upstream/proxy-handler.ts';
import type { Upstream, Upstreams } from '../upstream/upstreams.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
const RETRY_STATUSES = new Set([502, 503, 504]);
/** Errors about the request body as the client sent it (a body shorter or longer than declared). */
const CLIENT_BODY_ERRORS = new Set(['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']);
const RETRY_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** An attempt needs at least this much of the deadline left to be worth starting. */
const MIN_ATTEMPT_MS = 20;

type Failure = Error & { code?: string; abortReason?: { code?: string } };

/**
 * Stage 14, terminal. Sends the request to the route's upstream through its
 * guard and keep-alive pool, and streams the answer back
 * (upstream/proxy-handler.ts).
 *
 * - Breaker open: 503 at once with Retry-After; half-open: the request is a
 *   probe with the probe timeout.
 * - More than `maxConcurrent` in flight: 503 at once.
 * - Deadline: the route's timeout covers every attempt together (504).
 * - Retries: only GET, HEAD, OPTIONS or requests with an Idempotency-Key, with
 *   no body, only before anything reached the client, for connection errors
 *   and 502/503/504, with full-jitter backoff inside the deadline, and within
 *   the upstream's retry budget.
 * - A client that goes away cancels the upstream request.
 */
export function createProxy(
  upstreams: Upstreams,
  metrics: GatewayMetrics,
  tracing?: RequestTracing | undefined,
) {
  return async function proxy(ctx: RequestContext): Promise<void> {
    const { req, res } = ctx;
    const route = ctx.route;
    if (route === undefined || res === undefined)
      throw new Error('proxy reached without a route or a response');
    const declared = req.headers['content-length'];
    let body: Readable | null = null;
    let limit: BodyLimit | undefined;
    if (declared !== undefined) {
      if (Number(declared) > route.maxBodyBytes) {
        throw gatewayError('GW_PAYLOAD_TOO_LARGE', `The body is larger than ${route.maxBodyBytes} bytes.`);
      }
      if (declared !== '0') body = req;
    } else if (req.headers['transfer-encoding'] !== undefined) {
      limit = new BodyLimit(route.maxBodyBytes);
      body = req.pipe(limit);
    }

    const upstream = upstreams.get(route.upstream.name);
    const { guard } = upstream;
    const deadline = ctx.started + route.timeoutMs;
    const retryable =
      body === null &&
      guard.retry.attempts > 0 &&
      (IDEMPOTENT.has(ctx.method) || req.headers['idempotency-key'] !== undefined);
    guard.earnRetry();

    for (let attempt = 0; ; attempt++) {
      const permit = guard.breaker.acquire();
      if (permit === 'no') {
        ctx.failure = 'circuit_open';
        throw gatewayError(
          'GW_UPSTREAM_CIRCUIT_OPEN',
          'The upstream service is failing; try again shortly.',
          {
            headers: { 'retry-after': String(guard.breaker.retryAfterSeconds()) },
          },
        );
      }
      const probe = permit === 'probe';
      if (guard.inFlight >= guard.maxConcurrent) {
        guard.breaker.release(probe);
        ctx.failure = 'upstream_busy';
        throw gatewayError('GW_UPSTREAM_BUSY', 'The upstream service is at capacity; try again shortly.', {
          headers: { 'retry-after': '1' },
        });
      }
      const remaining = deadline - performance.now();
      const timeoutMs = Math.max(
        1,
        probe ? Math.min(remaining, guard.breaker.options.probeTimeoutMs) : remaining,
      );
      let backoff = 0;
      const mayRetry = retryable && attempt < guard.retry.attempts;
      const holdIf = mayRetry
        ? (status: number) => {
            if (!RETRY_STATUSES.has(status)) return false;
            backoff = guard.backoffMs(attempt + 1);
            return performance.now() + backoff + MIN_ATTEMPT_MS < deadline && guard.spendRetry();
          }
        : undefined;
      const handler = new ProxyHandler(ctx, res, timeoutMs, holdIf);
      limit?.once('error', (err) => handler.abort(err));
      // Each attempt of a recorded request is a client span, and the upstream's span is its child
      // (checked first: an unsampled request builds no attributes).
      const span =
        ctx.span === undefined
          ? undefined
          : tracing?.child(ctx, ctx.method, SpanKind.CLIENT, {
              'http.request.method': ctx.method,
              'url.full': upstream.config.origin + ctx.upstreamPath,
              'gatehouse.upstream': upstream.config.name,
              'http.request.resend_count': attempt,
            });
      if (span !== undefined) ctx.headers.traceparent = traceparentOf(span);
      guard.inFlight++;
      const sent = performance.now();
      upstream.pool.dispatch(
        {
          method: ctx.method,
          path: ctx.upstreamPath + ctx.query,
          headers: ctx.headers,
          body,
          headersTimeout: timeoutMs,
          // Between two chunks of the answer: a stream's own class, so an event stream quieter than
          // the route's timeout is not cut (the headers still have to arrive within the timeout).
          bodyTimeout: route.streamTimeoutMs,
        },
        handler,
      );
      try {
        const outcome = await handler.done;
        guard.inFlight--;
        if (outcome.status >= 500) guard.breaker.failure(probe);
        else guard.breaker.success(probe);
        metrics.downstream(upstream.config.name, String(outcome.status), (performance.now() - sent) / 1000);
        if (span !== undefined) endAttempt(span, outcome.status, undefined);
        if (!outcome.held) return;
        metrics.retries.inc({ service: upstream.config.name, reason: String(outcome.status) });
      } catch (err) {
        guard.inFlight--;
        const failure = err as Failure;
        const reason = failure.abortReason?.code;
        if (span !== undefined) endAttempt(span, undefined, reason ?? failure.code ?? 'unknown');
        if (reason === CLIENT_GONE) {
          guard.breaker.release(probe);
          ctx.failure = 'client_gone';
          throw codeError(CLIENT_GONE);
        }
        if (reason === BODY_TOO_LARGE || failure.code === BODY_TOO_LARGE) {
          guard.breaker.release(probe);
          throw gatewayError('GW_PAYLOAD_TOO_LARGE', `The body is larger than ${route.maxBodyBytes} bytes.`);
        }
        if (!req.complete && (reason === UPSTREAM_DEADLINE || CLIENT_BODY_ERRORS.has(failure.code ?? ''))) {
          // The client had not finished sending its body: its slowness (or a body shorter than it
          // declared) is not the upstream's failure and must not open the upstream's breaker.
          guard.breaker.release(probe);
          ctx.failure = 'client_body_incomplete';
          throw gatewayError('GW_REQUEST_TIMEOUT', 'The request body did not arrive in time.');
        }
        guard.breaker.failure(probe);
        const code = reason === UPSTREAM_DEADLINE ? 'timeout' : (failure.code ?? 'unknown');
        metrics.downstream(upstream.config.name, code, (performance.now() - sent) / 1000);
        if (!retryAgain(upstream, mayRetry, failure, deadline)) throw upstreamFailure(ctx, failure, reason);
        backoff = guard.backoffMs(attempt + 1);
        metrics.retries.inc({ service: upstream.config.name, reason: code });
      }
      if (backoff > 0) await sleep(backoff);
    }
  };
}

function retryAgain(upstream: Upstream, mayRetry: boolean, failure: Failure, deadline: number): boolean {
  return (
    mayRetry &&
    RETRY_ERRORS.has(failure.code ?? '') &&
    performance.now() + MIN_ATTEMPT_MS < deadline &&
    upstream.guard.spendRetry()
  );
}

function upstreamFailure(ctx: RequestContext, failure: Failure, reason: string | undefined): Error {
  if (reason === UPSTREAM_DEADLINE || failure.code === 'UND_ERR_HEADERS_TIMEOUT') {
    ctx.failure = 'upstream_timeout';
    return gatewayError('GW_UPSTREAM_TIMEOUT', 'The upstream service did not answer in time.');
  }
  ctx.failure = `upstream_error:${failure.code ?? 'unknown'}`;
  return gatewayError('GW_UPSTREAM_UNAVAILABLE', 'The upstream service could not be reached.');
}

function endAttempt(span: Span, status: number | undefined, error: string | undefined): void {
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
  if (error !== undefined) span.setAttribute('error.type', error);
  if (error !== undefined || (status !== undefined && status >= 500))
    span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
