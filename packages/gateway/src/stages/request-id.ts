import { randomFillSync, randomUUID } from 'node:crypto';
import type { RequestContext } from '../context.ts';
import { type RequestTracing, traceparentOf } from '../tracing.ts';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

// Span ids come from a pool of random bytes refilled 4 KiB at a time: one
// syscall per 512 requests instead of one per request.
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  offset += bytes;
  return pool.toString('hex', offset - bytes, offset);
}

/**
 * Stage 1. Accepts a sane inbound `x-request-id` (so a client or load balancer
 * can correlate), else generates one; continues a valid W3C trace context or
 * starts a new trace. The gateway's hop gets its own span id: with tracing on,
 * its server span's (sampled per the parent, or the configured ratio).
 */
export function createRequestId(tracing: RequestTracing | undefined) {
  return function requestId(ctx: RequestContext): void {
    const inbound = ctx.req.headers['x-request-id'];
    ctx.requestId = typeof inbound === 'string' && SANE_REQUEST_ID.test(inbound) ? inbound : randomUUID();
    ctx.responseHeaders['x-request-id'] = ctx.requestId;

    const parent = ctx.req.headers.traceparent;
    let match = typeof parent === 'string' ? TRACEPARENT.exec(parent) : null;
    if (match !== null && (match[1] === ZERO_TRACE || match[2] === ZERO_SPAN)) match = null;
    const state = ctx.req.headers.tracestate;
    const traceState = match !== null && typeof state === 'string' && state.length <= 512 ? state : undefined;
    ctx.tracestate = traceState;
    if (tracing?.sampled(match) === true) {
      const span = tracing.startServer(ctx, match, traceState);
      ctx.span = span;
      ctx.traceparent = traceparentOf(span);
      ctx.traceId = span.spanContext().traceId;
      return;
    }
    // Not recorded here: the trace still flows, with the gateway's hop as its own span id. A new
    // trace is marked sampled only when the gateway does not trace (it cannot tell the services no).
    const spanId = randomHex(8);
    const traceId = match === null ? randomHex(16) : (match[1] as string);
    const flags = match !== null ? (match[3] as string) : tracing === undefined ? '01' : '00';
    ctx.traceparent = `00-${traceId}-${spanId}-${flags}`;
    ctx.traceId = traceId;
  };
}
