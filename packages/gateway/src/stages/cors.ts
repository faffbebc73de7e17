import type { GatewayConfig } from '../config/schema.ts';
import { DONE, type RequestContext, type StageResult } from '../context.ts';
import { gatewayError } from '../errors.ts';

/**
 * Stage 5. CORS from an allowlist. A preflight is answered here, before
 * authentication (browsers send it without credentials). An allowed origin is
 * echoed exactly; an unlisted one is never reflected, so `credentials: true`
 * cannot be abused by an arbitrary site.
 */
export function createCors(config: GatewayConfig['cors']) {
  const origins = new Set(config.origins);
  const wildcard = origins.has('*');
  const methods = config.methods.join(', ');
  const allowHeaders = config.allowHeaders.join(', ');
  const exposeHeaders = config.exposeHeaders.join(', ');
  const maxAge = String(config.maxAgeSeconds);
  const enabled = origins.size > 0;

  return function cors(ctx: RequestContext): StageResult {
    if (!enabled) return;
    ctx.responseHeaders.vary = 'Origin';
    const origin = ctx.req.headers.origin;
    if (origin === undefined) return;
    const allowed = origins.has(origin) || wildcard;
    const preflight =
      ctx.method === 'OPTIONS' && ctx.req.headers['access-control-request-method'] !== undefined;
    if (!allowed) {
      if (preflight) throw gatewayError('GW_CORS_REJECTED', 'This origin may not call the API.');
      return;
    }
    const headers = ctx.responseHeaders;
    headers['access-control-allow-origin'] = wildcard && !config.credentials ? '*' : origin;
    if (config.credentials) headers['access-control-allow-credentials'] = 'true';
    if (!preflight) {
      if (exposeHeaders !== '') headers['access-control-expose-headers'] = exposeHeaders;
      return;
    }
    headers['access-control-allow-methods'] = methods;
    headers['access-control-allow-headers'] = allowHeaders;
    headers['access-control-max-age'] = maxAge;
    ctx.responder.empty(204, headers);
    return DONE;
  };
}
