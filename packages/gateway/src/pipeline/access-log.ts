import type { Logger } from '@gatehouse/kit';
import type { RequestContext } from '../context.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RequestTracing } from '../tracing.ts';

export type AccessLog = (ctx: RequestContext, status: number) => void;

/**
 * The end of every exchange: its metrics, its server span and one access line.
 * Access lines carry only fields the gateway chose (never a header, token,
 * ticket or body), so the wildcard redaction every other line gets is skipped
 * for them; `path` is never logged (a WebSocket ticket travels in the query).
 */
export function createAccessLog(options: {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly tracing: RequestTracing | undefined;
  readonly enabled: boolean;
}): AccessLog {
  const { metrics, tracing } = options;
  const logAccess = options.enabled && options.logger.isLevelEnabled('info');
  const accessLogger = options.logger.child({}, { redact: [] });
  return function accessLog(ctx, status) {
    const seconds = (performance.now() - ctx.started) / 1000;
    const route = ctx.route?.id ?? 'unmatched';
    metrics.observe(ctx.method, route, status, seconds);
    metrics.inFlight.dec();
    tracing?.endServer(ctx, route, status);
    if (!logAccess) return;
    accessLogger.info(
      {
        requestId: ctx.requestId,
        traceId: ctx.traceId,
        method: ctx.method,
        route,
        upstream: ctx.route?.upstream.name,
        status,
        durationMs: Math.round(seconds * 100_000) / 100,
        upstreamMs: ctx.upstreamMs === undefined ? undefined : Math.round(ctx.upstreamMs * 100) / 100,
        userId: ctx.identity?.sub,
        tenantId: ctx.identity?.tid,
        clientIp: ctx.clientIp,
        reason: ctx.failure,
        ...(ctx.socket === undefined ? {} : { upgrade: true }),
      },
      'request',
    );
  };
}
