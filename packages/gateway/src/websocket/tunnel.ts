import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { request as requestTls } from 'node:https';
import type { Socket } from 'node:net';
import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { SocketResponder } from '../pipeline/responder.ts';
import type { Upstreams } from '../upstream/upstreams.ts';
import type { Lease, TunnelRegistry } from './tunnels.ts';

/** Response headers of the upstream that describe its connection to the gateway, not the client's. */
const NOT_RELAYED = new Set(['connection', 'upgrade', 'keep-alive', 'transfer-encoding', 'content-length']);

type Outcome =
  | {
      readonly kind: 'upgraded';
      readonly res: IncomingMessage;
      readonly socket: Socket;
      readonly head: Buffer;
    }
  | { readonly kind: 'answered'; readonly res: IncomingMessage }
  | { readonly kind: 'failed'; readonly code: string };

/**
 * The upgrade's terminal, in place of the HTTP proxy: once every stage let the
 * handshake through, it takes a place under the connection caps, passes the
 * upstream's breaker and concurrency cap like a request, and sends the
 * handshake upstream with the headers the stages built (the client's, through
 * the identity firewall, plus the injected identity and signed assertion).
 *
 * - The upstream's `101` (its status line and headers) is what the client
 *   sees; then bytes flow both ways untouched and the registry owns the tunnel.
 * - The upstream answers something else: that answer is relayed, and the
 *   connection closed (a 5xx counts as the upstream's failure).
 * - No answer within the route's timeout: 504; unreachable: 502.
 */
export function createTunnel(upstreams: Upstreams, tunnels: TunnelRegistry, metrics: GatewayMetrics) {
  return async function tunnel(ctx: RequestContext): Promise<void> {
    const { route, socket: client } = ctx;
    if (route === undefined || client === undefined)
      throw new Error('tunnel reached without a route or a socket');
    const upstream = upstreams.get(route.upstream.name);
    const { guard } = upstream;
    let lease: Lease;
    try {
      lease = await tunnels.admit(ctx.identity);
    } catch (err) {
      ctx.failure = `connection_cap:${(err as { cap?: string }).cap}`;
      throw err;
    }
    const permit = guard.breaker.acquire();
    if (permit === 'no') {
      lease.release();
      ctx.failure = 'circuit_open';
      throw gatewayError('GW_UPSTREAM_CIRCUIT_OPEN', 'The upstream service is failing; try again shortly.', {
        headers: { 'retry-after': String(guard.breaker.retryAfterSeconds()) },
      });
    }
    const probe = permit === 'probe';
    if (guard.inFlight >= guard.maxConcurrent) {
      guard.breaker.release(probe);
      lease.release();
      ctx.failure = 'upstream_busy';
      throw gatewayError('GW_UPSTREAM_BUSY', 'The upstream service is at capacity; try again shortly.', {
        headers: { 'retry-after': '1' },
      });
    }
    guard.inFlight++;
    const sent = performance.now();
    const timeoutMs = probe
      ? Math.min(route.timeoutMs, guard.breaker.options.probeTimeoutMs)
      : route.timeoutMs;
    const outcome = await handshake(ctx, upstream.config.origin, timeoutMs);
    guard.inFlight--;
    ctx.upstreamMs = performance.now() - sent;
    const status = outcome.kind === 'failed' ? outcome.code : String(outcome.res.statusCode);
    metrics.downstream(upstream.config.name, status, ctx.upstreamMs / 1000);

    if (outcome.kind === 'failed') {
      lease.release();
      if (outcome.code === 'client_gone') {
        guard.breaker.release(probe);
        ctx.failure = 'client_gone';
        return;
      }
      guard.breaker.failure(probe);
      if (outcome.code === 'timeout') {
        ctx.failure = 'upstream_timeout';
        throw gatewayError(
          'GW_UPSTREAM_TIMEOUT',
          'The upstream service did not answer the handshake in time.',
        );
      }
      ctx.failure = `upstream_error:${outcome.code}`;
      throw gatewayError('GW_UPSTREAM_UNAVAILABLE', 'The upstream service could not be reached.');
    }
    const { res } = outcome;
    if ((res.statusCode ?? 0) >= 500) guard.breaker.failure(probe);
    else guard.breaker.success(probe);
    const responder = ctx.responder as SocketResponder;
    responder.markSent(res.statusCode ?? 0);
    const head = statusLine(res) + relayedHeaders(res, ctx.responseHeaders);
    if (outcome.kind === 'answered') {
      // The upstream refused the handshake: its answer, then the connection ends.
      lease.release();
      ctx.failure = 'upstream_refused_upgrade';
      client.write(`${head}connection: close\r\n\r\n`);
      res.pipe(client);
      return;
    }
    const upstreamSocket = outcome.socket;
    client.write(`${head}connection: Upgrade\r\nupgrade: ${res.headers.upgrade ?? 'websocket'}\r\n\r\n`);
    if (outcome.head.length > 0) client.write(outcome.head);
    const early = ctx.early?.take();
    if (early !== undefined && early.length > 0) upstreamSocket.write(early);
    upstreamSocket.setNoDelay(true);
    (client as Socket).setNoDelay?.(true);
    tunnels.open(
      {
        route,
        identity: ctx.identity,
        requestId: ctx.requestId,
        traceId: ctx.traceId,
        clientIp: ctx.clientIp,
      },
      client as Socket,
      upstreamSocket,
      lease,
    );
  };
}

/** Sends the handshake upstream on a connection of its own (tunnels are never pooled). */
function handshake(ctx: RequestContext, origin: string, timeoutMs: number): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    let req: ClientRequest | undefined;
    const settle = (outcome: Outcome): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      ctx.onClientGone = undefined;
      resolve(outcome);
      return true;
    };
    const timer = setTimeout(() => {
      settle({ kind: 'failed', code: 'timeout' });
      req?.destroy();
    }, timeoutMs);
    ctx.onClientGone = () => {
      settle({ kind: 'failed', code: 'client_gone' });
      req?.destroy();
    };
    const url = new URL(origin);
    req = (url.protocol === 'https:' ? requestTls : request)({
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      method: 'GET',
      path: ctx.upstreamPath + ctx.query,
      headers: { ...ctx.headers, connection: 'Upgrade', upgrade: 'websocket' },
      agent: false,
    });
    // A late answer (after the timeout or the client left) is let go at once.
    req.on(
      'upgrade',
      (res, socket, head) => settle({ kind: 'upgraded', res, socket, head }) || socket.destroy(),
    );
    req.on('response', (res) => settle({ kind: 'answered', res }) || res.destroy());
    req.on('error', (err: Error & { code?: string }) =>
      settle({ kind: 'failed', code: err.code ?? 'unknown' }),
    );
    req.end();
  });
}

function statusLine(res: IncomingMessage): string {
  return `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`;
}

/** The upstream's own headers, then the gateway's (security headers, request id) where it set none. */
function relayedHeaders(res: IncomingMessage, gatewayHeaders: Readonly<Record<string, string>>): string {
  let out = '';
  const seen = new Set<string>();
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (NOT_RELAYED.has(name)) continue;
    seen.add(name);
    out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  for (const name in gatewayHeaders) {
    if (!seen.has(name)) out += `${name}: ${gatewayHeaders[name]}\r\n`;
  }
  return out;
}
