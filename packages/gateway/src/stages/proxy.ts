import { pipeline, type Readable } from 'node:stream';
import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import { BODY_TOO_LARGE, BodyLimit } from '../upstream/body-limit.ts';
import type { UpstreamPools } from '../upstream/pools.ts';
import { responseHeaders } from '../upstream/response-headers.ts';

const CLIENT_GONE = 'GW_CLIENT_GONE';
const UPSTREAM_TIMEOUT = 'GW_UPSTREAM_DEADLINE';

/**
 * Stage 10, terminal. Streams the request to the route's upstream through its
 * keep-alive pool and the response back. The upstream must start answering
 * within the route's timeout (504 otherwise); a connection failure is a 502;
 * a client that goes away cancels the upstream request.
 */
export function createProxy(pools: UpstreamPools) {
  return async function proxy(ctx: RequestContext): Promise<void> {
    const { req, res } = ctx;
    const route = ctx.route;
    if (route === undefined) throw new Error('proxy reached without a route');
    const declared = req.headers['content-length'];
    let body: Readable | null = null;
    if (declared !== undefined) {
      if (Number(declared) > route.maxBodyBytes) {
        throw gatewayError('GW_PAYLOAD_TOO_LARGE', `The body is larger than ${route.maxBodyBytes} bytes.`);
      }
      if (declared !== '0') body = req;
    } else if (req.headers['transfer-encoding'] !== undefined) {
      body = pipeline(req, new BodyLimit(route.maxBodyBytes), () => {});
    }

    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort(codeError(CLIENT_GONE));
    };
    res.once('close', onClose);
    const timer = setTimeout(() => abort.abort(codeError(UPSTREAM_TIMEOUT)), route.timeoutMs);
    const sent = performance.now();
    let answer: Awaited<ReturnType<ReturnType<UpstreamPools['get']>['request']>>;
    try {
      answer = await pools.get(route.upstream.name).request({
        method: ctx.method as 'GET',
        path: ctx.upstreamPath + ctx.query,
        headers: ctx.headers,
        body,
        signal: abort.signal,
        headersTimeout: route.timeoutMs,
        bodyTimeout: route.timeoutMs,
      });
    } catch (err) {
      throw upstreamFailure(ctx, err, abort.signal.reason);
    } finally {
      clearTimeout(timer);
      ctx.upstreamMs = performance.now() - sent;
    }

    const { statusCode, headers, body: upstreamBody } = answer;
    res.writeHead(statusCode, responseHeaders(headers, ctx.responseHeaders));
    if (ctx.method === 'HEAD' || statusCode === 204 || statusCode === 304) {
      upstreamBody.resume();
      res.end();
      return;
    }
    pipeline(upstreamBody, res, (err) => {
      if (err !== undefined && err !== null) res.destroy();
    });
  };
}

function codeError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

function upstreamFailure(ctx: RequestContext, err: unknown, abortReason: unknown): Error {
  const code = (err as { code?: string }).code ?? (abortReason as { code?: string } | undefined)?.code;
  const reasonCode = (abortReason as { code?: string } | undefined)?.code;
  if (reasonCode === CLIENT_GONE) {
    ctx.failure = 'client_gone';
    return codeError(CLIENT_GONE);
  }
  if (code === BODY_TOO_LARGE || (err as { cause?: { code?: string } }).cause?.code === BODY_TOO_LARGE) {
    return gatewayError('GW_PAYLOAD_TOO_LARGE', `The body is larger than ${ctx.route?.maxBodyBytes} bytes.`);
  }
  if (reasonCode === UPSTREAM_TIMEOUT || code === 'UND_ERR_HEADERS_TIMEOUT') {
    ctx.failure = 'upstream_timeout';
    return gatewayError('GW_UPSTREAM_TIMEOUT', 'The upstream service did not answer in time.');
  }
  ctx.failure = `upstream_error:${code ?? 'unknown'}`;
  return gatewayError('GW_UPSTREAM_UNAVAILABLE', 'The upstream service could not be reached.');
}
