import type { Logger } from '@gatehouse/kit';
import type { OutboundHeaders, RequestContext } from '../context.ts';
import type { ClientAddressResolver } from '../routing/client-address.ts';

/**
 * Headers that claim identity or rewrite what the upstream believes about the
 * request. Only the gateway may set them, so every client-sent copy is dropped,
 * in any spelling: names are compared lower-cased with `_` read as `-`,
 * because some servers (CGI-style, nginx with underscores_in_headers) treat
 * `X_User_Id` as `X-User-Id`.
 */
const DENIED_PREFIXES = [
  'x-user',
  'x-tenant',
  'x-gateway',
  'x-forwarded',
  'x-auth',
  'x-original',
  'x-remote',
  'x-identity',
  'x-role',
];
const DENIED_NAMES = new Set([
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-rewrite-url',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'remote-user',
  'x-proxyuser-ip',
]);

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those undici sets itself. Never forwarded. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
]);

/** Headers the gateway writes itself further down the pipeline. */
const REWRITTEN = new Set(['x-request-id', 'traceparent', 'tracestate', 'authorization']);

const IDENTITY_PREFIXES = ['x-user', 'x-tenant', 'x-gateway', 'x-auth', 'x-identity', 'x-role'];

/**
 * Whether a (lower-case) header name may not come from a client: 'identity' for
 * names that claim who the caller is (worth a log line), 'forwarding' for the
 * rest, false for headers that pass.
 */
export function deniedHeader(lowerName: string): 'identity' | 'forwarding' | false {
  // Every denied name starts with x, f, t, c or r: most headers are let through on their first letter.
  const first = lowerName.charCodeAt(0);
  if (first !== 0x78 && first !== 0x66 && first !== 0x74 && first !== 0x63 && first !== 0x72) return false;
  const name = lowerName.includes('_') ? lowerName.replaceAll('_', '-') : lowerName;
  if (DENIED_NAMES.has(name)) return 'forwarding';
  for (const prefix of DENIED_PREFIXES) {
    if (name.startsWith(prefix)) return IDENTITY_PREFIXES.includes(prefix) ? 'identity' : 'forwarding';
  }
  return false;
}

export function isDeniedHeader(lowerName: string): boolean {
  return deniedHeader(lowerName) !== false;
}

const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export interface FirewallDeps {
  readonly clientAddress: ClientAddressResolver;
  readonly logger: Logger;
}

/**
 * Stage 3. Runs before any later stage reads the request's headers. It reads the forwarding
 * headers once (believed only from trusted proxies), then builds the outbound
 * header set from the raw header list without any identity, forwarding or
 * hop-by-hop header, nor any header the client named in `Connection`.
 */
export function createIdentityFirewall({ clientAddress, logger }: FirewallDeps) {
  return function identityFirewall(ctx: RequestContext): void {
    const { req } = ctx;
    const peer = req.socket.remoteAddress ?? '';
    const trustedPeer = clientAddress.isTrusted(peer);
    const xff = req.headers['x-forwarded-for'];
    ctx.clientIp = clientAddress.resolve(peer, typeof xff === 'string' ? xff : undefined);
    const xfp = trustedPeer ? req.headers['x-forwarded-proto'] : undefined;
    ctx.proto =
      xfp === 'https' || xfp === 'http'
        ? xfp
        : (req.socket as { encrypted?: boolean }).encrypted
          ? 'https'
          : 'http';
    const host = req.headers.host;
    ctx.host = host !== undefined && HOST.test(host) ? host : '';

    const raw = req.rawHeaders;
    const out: OutboundHeaders = {};
    const connectionTokens: string[] = [];
    const spoofed: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      const value = raw[i + 1] as string;
      if (name === 'authorization') {
        ctx.authorizationCount++;
        ctx.authorization = ctx.authorizationCount === 1 ? value : undefined;
        continue;
      }
      const denied = deniedHeader(name);
      if (denied !== false) {
        if (denied === 'identity') spoofed.push(name);
        continue;
      }
      if (name === 'connection') {
        for (const token of value.split(',')) connectionTokens.push(token.trim().toLowerCase());
        continue;
      }
      if (name === 'host') ctx.hostCount++;
      if (HOP_BY_HOP.has(name) || REWRITTEN.has(name)) continue;
      const existing = out[name];
      if (existing === undefined) out[name] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else out[name] = [existing, value];
    }
    for (const token of connectionTokens) delete out[token];
    ctx.headers = out;
    if (spoofed.length > 0) {
      logger.info(
        {
          event: 'identity_header_dropped',
          requestId: ctx.requestId,
          traceId: ctx.traceId,
          headers: spoofed,
          clientIp: ctx.clientIp,
        },
        'client-sent identity headers dropped',
      );
    }
  };
}
