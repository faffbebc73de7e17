import type { GatewayConfig } from '../config/schema.ts';
import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';

/**
 * Upgrades only, right after the route is known: what a handshake must be
 * before any credential is looked at. The route must say `websocket`; the
 * protocol must be `websocket` (an `h2c` upgrade would hand the connection to
 * the upstream as HTTP/2, past every stage: never forwarded); a GET with a
 * `Sec-WebSocket-Key`; and a browser's `Origin` must be the gateway's own
 * host or one of `cors.origins`, so another site's page cannot open a socket
 * with its visitor's ambient credentials (cross-site WebSocket hijacking).
 */
export function createUpgradeGate(cors: GatewayConfig['cors']) {
  const origins = new Set(cors.origins);
  const anyOrigin = origins.has('*');
  return function upgradeGate(ctx: RequestContext): void {
    const { req } = ctx;
    if (ctx.route?.websocket === undefined) {
      ctx.failure = 'upgrade_not_allowed';
      throw gatewayError('GW_UPGRADE_REFUSED', 'This route does not accept WebSocket upgrades.');
    }
    const protocol = req.headers.upgrade?.trim().toLowerCase();
    if (protocol !== 'websocket' || ctx.method !== 'GET' || req.headers['sec-websocket-key'] === undefined) {
      ctx.failure = `upgrade_protocol:${protocol === 'h2c' ? 'h2c' : 'other'}`;
      throw gatewayError('GW_UPGRADE_REFUSED', 'Only WebSocket upgrades (GET) are accepted.');
    }
    const origin = req.headers.origin;
    if (origin === undefined || anyOrigin || origins.has(origin) || sameHost(origin, ctx.host)) return;
    ctx.failure = 'cross_site_origin';
    throw gatewayError('GW_CORS_REJECTED', 'This origin may not open a WebSocket here.');
  };
}

function sameHost(origin: string, host: string): boolean {
  if (host === '') return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
