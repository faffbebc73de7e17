import type { AssertionSigner } from '@gatehouse/kit';
import { ASSERTION_HEADER } from '@gatehouse/kit';
import type { RequestContext } from '../context.ts';

/**
 * Stage 13. Writes the headers only the gateway may write: identity from the
 * verified token alone, the signed assertion services verify, the request id,
 * the trace context and fresh forwarding headers. They are added after the
 * firewall filtered the client's headers, so no client header (nor a
 * `Connection` list) can remove or replace them.
 */
export function createInjectIdentity(sign: AssertionSigner) {
  return function injectIdentity(ctx: RequestContext): void {
    const headers = ctx.headers;
    headers['x-request-id'] = ctx.requestId;
    headers.traceparent = ctx.traceparent;
    if (ctx.tracestate !== undefined) headers.tracestate = ctx.tracestate;
    headers['x-forwarded-for'] = ctx.clientIp;
    headers['x-forwarded-proto'] = ctx.proto;
    if (ctx.host !== '') headers['x-forwarded-host'] = ctx.host;
    const identity = ctx.identity;
    if (identity === undefined) return;
    headers['x-user-id'] = identity.sub;
    headers['x-tenant-id'] = identity.tid;
    headers['x-user-roles'] = identity.roles.join(',');
    headers[ASSERTION_HEADER] = sign(identity, {
      method: ctx.method,
      path: ctx.upstreamPath,
      requestId: ctx.requestId,
    });
    if (ctx.route?.upstream.forwardAuthorization === true && ctx.authorization !== undefined) {
      headers.authorization = ctx.authorization;
    }
  };
}
