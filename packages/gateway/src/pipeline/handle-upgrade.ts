import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Readiness, toProblem } from '@gatehouse/kit';
import { createContext, type Stage } from '../context.ts';
import { gatewayError } from '../errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { TunnelRegistry } from '../websocket/tunnels.ts';
import type { AccessLog } from './access-log.ts';
import { SocketResponder } from './responder.ts';
import type { Run } from './run.ts';

/** Bytes a client may send before its handshake is answered; beyond them it is not read until then. */
const MAX_EARLY_BYTES = 64 * 1024;

/**
 * `server.on('upgrade')`: the same stages as a plain request, then the tunnel
 * as the terminal. Until the upstream's `101` is relayed the gateway owns the
 * socket and refuses through a SocketResponder (problem+json as raw HTTP/1.1,
 * then the connection is closed). While shutting down, no new tunnel.
 */
export function createUpgradeHandler(options: {
  readonly readiness: Readiness;
  readonly metrics: GatewayMetrics;
  readonly run: Run;
  readonly pipeline: readonly Stage[];
  readonly accessLog: AccessLog;
  readonly tunnels: TunnelRegistry;
  readonly securityHeaders: Readonly<Record<string, string>>;
}) {
  const { readiness, metrics, run, pipeline, accessLog, tunnels } = options;
  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    // A socket error before the tunnel owns it (a reset mid-handshake) must not crash the process.
    socket.on('error', () => socket.destroy());
    const responder = new SocketResponder(socket);
    if (readiness.shuttingDown || tunnels.draining) {
      const refusal = gatewayError(
        'GW_SHUTTING_DOWN',
        'The gateway is shutting down; reconnect to another instance.',
      );
      responder.problem(
        toProblem(refusal, undefined, 'GW_INTERNAL'),
        { ...options.securityHeaders, 'retry-after': '1' },
        true,
      );
      metrics.tunnelHandshakes.inc({ route: 'unmatched', status: '503' });
      return;
    }
    // The socket is read while the handshake is decided: that is how a client that leaves is
    // noticed (and the upstream handshake let go). What it sends meanwhile is held for the tunnel,
    // up to a cap past which it is simply no longer read (backpressure, nothing lost).
    const held: Buffer[] = head.length > 0 ? [head] : [];
    let heldBytes = head.length;
    const hold = (chunk: Buffer) => {
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes > MAX_EARLY_BYTES) socket.pause();
    };
    const early = {
      take(): Buffer {
        socket.pause();
        socket.off('data', hold);
        return Buffer.concat(held);
      },
    };
    const ctx = createContext(req, { socket, early, responder }, started);
    metrics.inFlight.inc();
    const gone = () => {
      ctx.clientGone = true;
      ctx.onClientGone?.();
    };
    socket.on('data', hold);
    socket.once('end', gone);
    socket.once('close', gone);
    void run(ctx, pipeline).then(() => {
      socket.off('end', gone);
      socket.off('close', gone);
      // Nothing was answered (the client left): the socket is ours to close, nobody else will.
      if (responder.status === undefined) socket.destroy();
      const status = responder.status ?? 499;
      metrics.tunnelHandshakes.inc({ route: ctx.route?.id ?? 'unmatched', status: String(status) });
      accessLog(ctx, status);
    });
  };
}
