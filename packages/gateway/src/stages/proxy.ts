import type { Readable } from 'node:stream';
import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import { BODY_TOO_LARGE, BodyLimit } from '../upstream/body-limit.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { CLIENT_GONE, codeError, ProxyHandler, UPSTREAM_DEADLINE } from '../upstream/proxy-handler.ts';

/**
 * Stage 10, terminal. Streams the request to the route's upstream through its
 * keep-alive pool and the answer back (upstream/proxy-handler.ts). The
 * upstream must start answering within the route's timeout (504 otherwise); a
 * connection failure is a 502; a client that goes away cancels the upstream
 * request; a chunked body that passes the route's cap is cut before the
 * excess is sent (413).
 */
export function createProxy(pools: UpstreamPools) {
  return async function proxy(ctx: RequestContext): Promise<void> {
    const { req } = ctx;
    const route = ctx.route;
    if (route === undefined) throw new Error('proxy reached without a route');
    const declared = req.headers['content-length'];
    let body: Readable | null = null;
    let limit: BodyLimit | undefined;
    if (declared !== undefined) {
      if (Number(declared) > route.maxBodyBytes) {
        throw gatewayError('GW_PAYLOAD_TOO_LARGE', `The body is larger than ${route.maxBodyBytes} bytes.`);
      }
      if (declared !== '0') body = req;
    } else if (req.headers['transfer-encoding'] !== undefined) {
      limit = new BodyLimit(route.maxBodyBytes);
      body = req.pipe(limit);
    }

    const handler = new ProxyHandler(ctx, route.timeoutMs);
    limit?.once('error', (err) => handler.abort(err));
    pools.get(route.upstream.name).dispatch(
      {
        method: ctx.method,
        path: ctx.upstreamPath + ctx.query,
        headers: ctx.headers,
        body,
        headersTimeout: route.timeoutMs,
        bodyTimeout: route.timeoutMs,
      },
      handler,
    );
    try {
      await handler.done;
    } catch (err) {
      throw upstreamFailure(ctx, err as Error & { code?: string; abortReason?: { code?: string } });
    }
  };
}

function upstreamFailure(
  ctx: RequestContext,
  err: Error & { code?: string; abortReason?: { code?: string } },
): Error {
  const reason = err.abortReason?.code;
  if (reason === CLIENT_GONE) {
    ctx.failure = 'client_gone';
    return codeError(CLIENT_GONE);
  }
  if (reason === BODY_TOO_LARGE || err.code === BODY_TOO_LARGE) {
    return gatewayError('GW_PAYLOAD_TOO_LARGE', `The body is larger than ${ctx.route?.maxBodyBytes} bytes.`);
  }
  if (reason === UPSTREAM_DEADLINE || err.code === 'UND_ERR_HEADERS_TIMEOUT') {
    ctx.failure = 'upstream_timeout';
    return gatewayError('GW_UPSTREAM_TIMEOUT', 'The upstream service did not answer in time.');
  }
  ctx.failure = `upstream_error:${err.code ?? 'unknown'}`;
  return gatewayError('GW_UPSTREAM_UNAVAILABLE', 'The upstream service could not be reached.');
}
