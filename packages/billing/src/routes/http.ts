import type { AssertedIdentity, IdentityHook } from '@gatehouse/kit/service';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../domain/billing.ts';
import { billError } from '../errors.ts';

export interface RouteHooks {
  /** A user's identity from the gateway assertion. */
  readonly user: IdentityHook;
  /** The gateway or a platform service. */
  readonly platform: IdentityHook;
}

/**
 * The tenant in the path must be the one the caller acts for; any other
 * tenant answers exactly like a tenant that does not exist.
 */
export function ownTenant(req: FastifyRequest, tenantId: string): AssertedIdentity {
  const identity = req.identity!;
  if (identity.tid !== tenantId) throw billError('BILL_NOT_FOUND', 'no such tenant');
  return identity;
}

const MANAGERS = ['owner', 'admin'];

/** Only the tenant's owner or an admin changes billing; members read. */
export function requireManager(identity: AssertedIdentity): void {
  if (!identity.roles.some((r) => MANAGERS.includes(r))) throw billError('BILL_ROLE_FORBIDDEN');
}

export function actorOf(req: FastifyRequest): Actor {
  return { id: `user:${req.identity?.sub ?? 'unknown'}`, requestId: req.id };
}

export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}
