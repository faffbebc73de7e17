import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Logger, problemType, type Readiness } from '@gatehouse/kit';
import { createContext, type Stage } from '../context.ts';
import { gatewayErrors } from '../errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { TunnelRegistry } from '../websocket/tunnels.ts';
import type { AccessLog } from './access-log.ts';
import { SocketResponder } from './responder.ts';
import type { Run } from './run.ts';

/**
 * `server.on('upgrade')`: the same stages as a plain request, then the tunnel
 * as the terminal. Until the upstream's `101` is relayed the gateway owns the
 * socket and refuses through a SocketResponder (problem+json as raw HTTP/1.1,
 * then the connection is closed). While shutting down, no new tunnel.
 */
export function createUpgradeHandler(options: {
  readonly logger: Logger;
  readonly readiness: Readiness;
  readonly metrics: GatewayMetrics;
  readonly run: Run;
  readonly pipeline: readonly Stage[];
  readonly accessLog: AccessLog;
  readonly tunnels: TunnelRegistry;
  readonly securityHeaders: Readonly<Record<string, string>>;
}) {
  const { logger, readiness, metrics, run, pipeline, accessLog, tunnels } = options;
  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    // A socket error before the tunnel owns it (a reset mid-handshake) must not crash the process.
    socket.on('error', () => socket.destroy());
    const responder = new SocketResponder(socket);
    if (readiness.shuttingDown || tunnels.draining) {
      const spec = gatewayErrors.table.GW_SHUTTING_DOWN;
      responder.problem(
        {
          type: problemType('GW_SHUTTING_DOWN'),
          title: spec.title,
          status: spec.status,
          code: 'GW_SHUTTING_DOWN',
          detail: 'The gateway is shutting down; reconnect to another instance.',
        },
        { ...options.securityHeaders, 'retry-after': '1' },
        true,
      );
      metrics.tunnelHandshakes.inc({ route: 'unmatched', status: '503' });
      return;
    }
    const ctx = createContext(req, { socket, head, responder }, started);
    metrics.inFlight.inc();
    const gone = () => {
      if (responder.sent) return;
      ctx.clientGone = true;
      ctx.onClientGone?.();
    };
    socket.once('close', gone);
    run(ctx, pipeline)
      .catch((err: unknown) => {
        logger.error({ err, requestId: ctx.requestId, traceId: ctx.traceId }, 'answering an error failed');
        socket.destroy();
      })
      .finally(() => {
        socket.off('close', gone);
        const status = responder.status ?? 499;
        metrics.tunnelHandshakes.inc({ route: ctx.route?.id ?? 'unmatched', status: String(status) });
        accessLog(ctx, status);
      });
  };
}
