import type { IncomingHttpHeaders } from 'node:http';
import { HOP_BY_HOP } from '../stages/identity-firewall.ts';

/**
 * The upstream's response headers as the client gets them: hop-by-hop headers
 * and those named in `Connection` removed, the gateway's headers added (the
 * upstream's security headers win over the gateway's defaults, CORS and the
 * request id are always the gateway's). The gateway owns CORS: an upstream's
 * own `access-control-*` headers are dropped, so a service that reflects any
 * origin cannot open the API to every site.
 */
export function responseHeaders(
  upstream: IncomingHttpHeaders,
  gateway: Readonly<Record<string, string>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connection = upstream.connection;
  const named =
    typeof connection === 'string'
      ? connection
          .toLowerCase()
          .split(',')
          .map((t) => t.trim())
      : [];
  for (const name in upstream) {
    if (HOP_BY_HOP.has(name) || named.includes(name) || name.startsWith('access-control-')) continue;
    const value = upstream[name];
    if (value !== undefined) out[name] = value;
  }
  for (const name in gateway) {
    if (name in out && !OWNED_BY_GATEWAY.has(name)) continue;
    out[name] = gateway[name] as string;
  }
  return out;
}

const OWNED_BY_GATEWAY = new Set(['x-request-id', 'vary']);
