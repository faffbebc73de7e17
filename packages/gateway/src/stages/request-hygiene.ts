import type { GatewayConfig } from '../config/schema.ts';
import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import { normalizeTarget } from '../routing/normalize-path.ts';

const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const ALLOW_HEADER = [...ALLOWED_METHODS].join(', ');

/**
 * Stage 4. Only origin-form targets of a known method; TRACE and CONNECT are
 * refused. The URL is capped, and the path is decoded once and made canonical
 * (see routing/normalize-path.ts): what is matched is what is forwarded. A
 * declared body larger than any route accepts is refused before it is read.
 */
export function createRequestHygiene(limits: GatewayConfig['limits'], largestBodyBytes: number) {
  return function requestHygiene(ctx: RequestContext): void {
    const { req } = ctx;
    if (!ALLOWED_METHODS.has(ctx.method)) {
      throw gatewayError('GW_METHOD_NOT_ALLOWED', `${ctx.method} is not accepted.`, {
        headers: { allow: ALLOW_HEADER },
      });
    }
    if (ctx.hostCount > 1) throw gatewayError('GW_BAD_REQUEST', 'A request has one Host header.');
    const target = req.url ?? '';
    if (target.length > limits.maxUrlBytes) {
      throw gatewayError('GW_URI_TOO_LONG', `The request target is longer than ${limits.maxUrlBytes} bytes.`);
    }
    const result = normalizeTarget(target);
    if (!result.ok) {
      ctx.failure = result.reason;
      throw gatewayError('GW_BAD_PATH', 'The request path is not acceptable.');
    }
    ctx.path = result.path;
    ctx.query = result.query;
    const declared = req.headers['content-length'];
    // Before anything reads the body: larger than any route accepts. The route's own cap is checked
    // once the route is known (stages/proxy.ts), for declared and chunked bodies alike.
    if (declared !== undefined && Number(declared) > largestBodyBytes) {
      throw gatewayError('GW_PAYLOAD_TOO_LARGE', `The body is larger than ${largestBodyBytes} bytes.`);
    }
  };
}
