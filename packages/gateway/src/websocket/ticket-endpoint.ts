import type { Logger } from '@gatehouse/kit';
import { DONE, type RequestContext, type StageResult } from '../context.ts';
import { gatewayError } from '../errors.ts';
import type { CompiledRoute } from '../routing/route-table.ts';
import type { Tickets } from './tickets.ts';

/**
 * `POST <websockets.tickets.path>` (default `/api/ws-ticket`), answered by the
 * gateway itself after every stage up to identity injection ran (token,
 * revocation, rate limit, user check): a ticket that stands for the caller's
 * access token for `ttlSeconds`, once. Any other method is a 405; the answer
 * is never cached.
 */
export function createTicketEndpoint(route: CompiledRoute, tickets: Tickets, logger: Logger) {
  return async function ticketEndpoint(ctx: RequestContext): Promise<StageResult> {
    if (ctx.route !== route) return;
    if (ctx.method !== 'POST') {
      throw gatewayError('GW_METHOD_NOT_ALLOWED', 'Tickets are minted with POST.', {
        headers: { allow: 'POST' },
      });
    }
    const token = /^Bearer (.+)$/i.exec(ctx.authorization ?? '')?.[1];
    // Authentication ran (this route is never public), so a token is there; the check keeps it so.
    if (ctx.identity === undefined || token === undefined) throw gatewayError('GW_UNAUTHENTICATED');
    const origin = ctx.req.headers.origin;
    let ticket: string;
    try {
      ticket = await tickets.mint({ token, origin });
    } catch (err) {
      logger.warn({ err, requestId: ctx.requestId }, 'ticket store unavailable');
      throw gatewayError('GW_AUTH_UNAVAILABLE', 'Tickets cannot be issued right now.', {
        headers: { 'retry-after': '5' },
      });
    }
    const body = JSON.stringify({ ticket, expiresInSeconds: tickets.ttlSeconds });
    const res = ctx.res;
    if (res === undefined) throw new Error('ticket endpoint reached without a response');
    res.writeHead(201, {
      ...ctx.responseHeaders,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
    });
    res.end(body);
    return DONE;
  };
}
