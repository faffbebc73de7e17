import { type Logger, lineSink } from '@gatehouse/kit';
import type { RequestContext } from '../context.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RequestTracing } from '../tracing.ts';
import { createAccessLineSerializer } from './access-line.ts';

export type AccessLog = (ctx: RequestContext, status: number) => void;

/**
 * The end of every exchange: its metrics, its server span and one access line.
 * Access lines carry only fields the gateway chose (never a header, token,
 * ticket or body), so they are serialised by hand (access-line.ts) rather
 * than through pino's redaction; `path` is never logged (a WebSocket ticket
 * travels in the query). The line goes to the logger's LineWriter, which
 * writes in large batches off the event loop; when the output falls behind,
 * lines of successful answers may be dropped (and counted), those of error
 * answers (status ≥ 400) are kept up to the writer's hard bound.
 */
export function createAccessLog(options: {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly tracing: RequestTracing | undefined;
  readonly enabled: boolean;
}): AccessLog {
  const { metrics, tracing } = options;
  const logAccess = options.enabled && options.logger.isLevelEnabled('info');
  const line = createAccessLineSerializer(options.logger);
  const sink = lineSink(options.logger);
  return function accessLog(ctx, status) {
    const elapsedMs = performance.now() - ctx.started;
    const route = ctx.route?.id ?? 'unmatched';
    metrics.observe(ctx.method, route, status, elapsedMs / 1000);
    metrics.inFlight.dec();
    tracing?.endServer(ctx, route, status);
    if (!logAccess) return;
    sink(line(ctx, status, Math.round(elapsedMs * 100) / 100, route), status >= 400);
  };
}
