import type { Logger } from '@gatehouse/kit';
import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import type { Tickets } from './tickets.ts';

const TICKET_PARAM = /(?:^\?|&)ticket=([^&]*)/;

/** The query without its `ticket` parameter (the upstream never sees the ticket). */
export function withoutTicket(query: string): string {
  const rest = query
    .slice(1)
    .split('&')
    .filter((p) => p !== '' && !p.startsWith('ticket='));
  return rest.length === 0 ? '' : `?${rest.join('&')}`;
}

/**
 * Upgrades only, before authentication: a `?ticket=` is exchanged (once) for
 * the access token it was minted with, which then goes through authentication
 * and every later stage like a token sent in `Authorization`. A ticket
 * together with an `Authorization` header is refused (which identity would
 * it be?), as is one used from another Origin than the one that minted it.
 */
export function createTicketRedeem(tickets: Tickets, logger: Logger) {
  return async function ticketRedeem(ctx: RequestContext): Promise<void> {
    const match = TICKET_PARAM.exec(ctx.query);
    if (match === null) return;
    ctx.query = withoutTicket(ctx.query);
    if (ctx.authorizationCount > 0) {
      ctx.failure = 'ticket_with_token';
      throw gatewayError('GW_INVALID_TICKET', 'Send a ticket or an access token, not both.');
    }
    let record: Awaited<ReturnType<Tickets['redeem']>>;
    try {
      record = await tickets.redeem(match[1] as string);
    } catch (err) {
      logger.warn({ err, requestId: ctx.requestId }, 'ticket store unavailable');
      throw gatewayError('GW_AUTH_UNAVAILABLE', 'Tickets cannot be checked right now.', {
        headers: { 'retry-after': '5' },
      });
    }
    if (record === undefined) {
      ctx.failure = 'ticket_unknown';
      throw gatewayError('GW_INVALID_TICKET', 'The ticket is unknown, used or expired.');
    }
    if (record.origin !== undefined && record.origin !== ctx.req.headers.origin) {
      ctx.failure = 'ticket_origin';
      throw gatewayError('GW_INVALID_TICKET', 'The ticket was issued to another origin.');
    }
    ctx.authorization = `Bearer ${record.token}`;
    ctx.authorizationCount = 1;
  };
}
