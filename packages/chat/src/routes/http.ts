import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../domain/services.ts';

/** The caller from the verified gateway assertion (the route's preHandler set it; nothing else does). */
export function callerOf(req: FastifyRequest): Caller {
  const identity = req.identity;
  if (identity === undefined) throw new Error('route without the identity preHandler');
  return { userId: identity.sub, tenantId: identity.tid };
}

export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}
