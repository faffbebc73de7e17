import { EventEmitter } from 'node:events';
import { ENTITLEMENT_CHANNEL, entitlementFields, entitlementKey } from '@gatehouse/kit';
import type { Redis } from 'ioredis';
import type { TenantEntitlements as EntitlementRecord } from '../domain/entitlements.ts';

export { ENTITLEMENT_CHANNEL, entitlementKey };

/** Where billing writes entitlement records and announces them. */
export interface EntitlementPublisher {
  readonly kind: 'memory' | 'redis';
  publish(record: EntitlementRecord): Promise<void>;
}

/** The record as Redis hash fields: kit's contract fields, plus where the record came from. */
export function toHashFields(record: EntitlementRecord): Record<string, string> {
  return {
    ...entitlementFields(record),
    plan: record.plan,
    status: record.status,
    periodEnd: record.periodEnd === null ? '' : String(record.periodEnd),
    version: String(record.version),
    updatedAt: String(record.updatedAt),
  };
}

/**
 * In one process without Redis: the records live here and listeners in this
 * process (the gateway and services started with it) hear every change.
 */
export function memoryEntitlementPublisher(): EntitlementPublisher & {
  get(tenantId: string): EntitlementRecord | undefined;
  onChange(listener: (record: EntitlementRecord) => void): () => void;
} {
  const records = new Map<string, EntitlementRecord>();
  const events = new EventEmitter();
  return {
    kind: 'memory',
    async publish(record) {
      const current = records.get(record.tenantId);
      if (current !== undefined && current.version > record.version) return;
      records.set(record.tenantId, record);
      events.emit('change', record);
    },
    get: (tenantId) => records.get(tenantId),
    onChange(listener) {
      events.on('change', listener);
      return () => events.off('change', listener);
    },
  };
}

/*
 * Writes the hash only when its version is not newer than the stored one, and
 * then announces it, atomically: two billing instances (or a retry after an
 * outage) can never put an older record over a newer one.
 */
const WRITE_IF_NEWER = `
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`;

export function redisEntitlementPublisher(redis: Redis): EntitlementPublisher {
  return {
    kind: 'redis',
    async publish(record) {
      const fields = Object.entries(toHashFields(record)).flat();
      await redis.eval(
        WRITE_IF_NEWER,
        1,
        entitlementKey(record.tenantId),
        String(record.version),
        ENTITLEMENT_CHANNEL,
        // The contract's announcement is the tenant id: readers drop their cached copy and read again.
        record.tenantId,
        ...fields,
      );
    },
  };
}
