import { type EntitlementRecord, entitlementKey, FREE_ENTITLEMENT, parseEntitlement } from '@gatehouse/kit';
import type { Queryable } from '@gatehouse/kit/service';
import type { Redis } from 'ioredis';
import { listOpenInvitations } from '../db/invitations.ts';
import { listMembers } from '../db/tenants.ts';
import { authError } from '../errors.ts';
import type { AuthServices } from './services.ts';

/** Where a tenant's entitlement record (kit's contract, written by billing) is read. */
export interface EntitlementSource {
  /** The record, or undefined when the tenant has none (the free plan). May throw. */
  read(tenantId: string): Promise<EntitlementRecord | undefined>;
}

/** Billing's Redis hash `entitlement:<tenantId>`. */
export function redisEntitlements(redis: Redis): EntitlementSource {
  return { read: async (tenantId) => parseEntitlement(await redis.hgetall(entitlementKey(tenantId))) };
}

/** One machine without Redis, and tests: no record means the free plan. */
export function memoryEntitlements(records: Map<string, EntitlementRecord> = new Map()): EntitlementSource {
  return { read: async (tenantId) => records.get(tenantId) };
}

const READ_BUDGET_MS = 500;

/**
 * The tenant's seats; a tenant without a record has the free plan's. When the
 * record cannot be read in time the check is skipped (logged): a billing or
 * Redis outage never blocks the team's work, and billing's next write
 * restores the limit.
 */
async function seatsOf(s: AuthServices, tenantId: string): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const record = await Promise.race([
      s.entitlements.read(tenantId),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('entitlement read timed out')), READ_BUDGET_MS);
      }),
    ]);
    return (record ?? FREE_ENTITLEMENT).seats;
  } catch (err) {
    s.logger.warn({ err, tenantId }, 'seats not checked: the entitlement record could not be read');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Refuses a new member beyond the plan's seats. An invitation holds a seat
 * while it is open (members + open invitations), so a tenant cannot invite
 * past its plan and have everyone accept; accepting checks members alone.
 */
export async function requireFreeSeat(
  s: AuthServices,
  q: Queryable,
  tenantId: string,
  at: 'invite' | 'accept',
): Promise<void> {
  const seats = await seatsOf(s, tenantId);
  if (seats === undefined) return;
  const members = (await listMembers(q, tenantId)).length;
  const taken = at === 'invite' ? members + (await listOpenInvitations(q, tenantId)).length : members;
  if (taken >= seats) {
    throw authError(
      'AUTH_SEATS_EXCEEDED',
      `the tenant's plan has ${seats} seats and ${taken} are taken${at === 'invite' ? ' (members and open invitations)' : ''}`,
    );
  }
}
