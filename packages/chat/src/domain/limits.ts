import {
  type EntitlementRecord,
  entitlementKey,
  FREE_ENTITLEMENT,
  MESSAGES_PER_MINUTE,
  parseEntitlement,
} from '@gatehouse/kit';
import type { Database, Logger } from '@gatehouse/kit/service';
import type { Redis } from 'ioredis';
import { countTenantMessagesSince } from '../db/messages.ts';
import { chatError } from '../errors.ts';

/** Where a tenant's entitlement record comes from. */
export interface EntitlementSource {
  /** The record, or undefined when the tenant has none (the free plan). May throw. */
  read(tenantId: string): Promise<EntitlementRecord | undefined>;
}

/** The record billing writes as the Redis hash `entitlement:<tenantId>`. */
export function redisEntitlements(redis: Redis): EntitlementSource {
  return { read: async (tenantId) => parseEntitlement(await redis.hgetall(entitlementKey(tenantId))) };
}

/** One machine without Redis, and tests: a map of tenant id → record. */
export function memoryEntitlements(records: Map<string, EntitlementRecord> = new Map()): EntitlementSource {
  return { read: async (tenantId) => records.get(tenantId) };
}

/** Counts sends per user per window; Redis when configured (exact across instances), memory otherwise. */
export interface SendCounter {
  /** Adds one send in the window starting at `windowStart` and returns the count so far. */
  hit(key: string, windowStart: number, windowMs: number): Promise<number>;
}

export function redisCounter(redis: Redis): SendCounter {
  return {
    async hit(key, windowStart, windowMs) {
      const k = `gatehouse:chat:sends:${key}:${windowStart}`;
      const [[, count]] = (await redis
        .multi()
        .incr(k)
        .pexpire(k, windowMs * 2)
        .exec()) as [[null, number]];
      return count;
    },
  };
}

export function memoryCounter(): SendCounter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    async hit(key, windowStart) {
      const w = windows.get(key);
      if (w === undefined || w.start !== windowStart) {
        if (windows.size > 100_000) windows.clear();
        windows.set(key, { start: windowStart, count: 1 });
        return 1;
      }
      return ++w.count;
    },
  };
}

const WINDOW_MS = 60_000;
const RECORD_TTL_MS = 30_000;
const QUOTA_TTL_MS = 10_000;

/**
 * The send limits of a tenant's plan: messages per user per minute by tier
 * (fixed one-minute windows) and the tenant's message quota per period. The
 * record is cached 30 s and dropped when billing announces a change; the quota
 * count is cached 10 s, so a busy tenant may overshoot its quota by what it
 * sends in that time (a quota is a bill, not a security boundary). A store
 * that fails means the free plan's limits — never no limits.
 */
export class SendLimits {
  readonly #db: Database;
  readonly #source: EntitlementSource;
  readonly #counter: SendCounter;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #records = new Map<string, { record: EntitlementRecord; until: number }>();
  readonly #usage = new Map<string, { count: number; until: number }>();

  constructor(options: {
    db: Database;
    source: EntitlementSource;
    counter: SendCounter;
    logger: Logger;
    now?: () => number;
  }) {
    this.#db = options.db;
    this.#source = options.source;
    this.#counter = options.counter;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  async entitlement(tenantId: string): Promise<EntitlementRecord> {
    const cached = this.#records.get(tenantId);
    if (cached !== undefined && cached.until > this.#now()) return cached.record;
    let record: EntitlementRecord;
    try {
      record = (await this.#source.read(tenantId)) ?? FREE_ENTITLEMENT;
    } catch (err) {
      this.#logger.warn(
        { err: (err as Error).message, tenantId },
        'entitlement read failed; free plan limits',
      );
      record = cached?.record ?? FREE_ENTITLEMENT;
    }
    if (this.#records.size > 10_000) this.#records.clear();
    this.#records.set(tenantId, { record, until: this.#now() + RECORD_TTL_MS });
    return record;
  }

  /** Billing announced a change (ENTITLEMENT_CHANNEL): read the record again next time. */
  invalidate(tenantId: string): void {
    this.#records.delete(tenantId);
  }

  /** Throws CHAT_RATE_LIMITED or CHAT_QUOTA_EXCEEDED (429, Retry-After) when the send may not happen. */
  async checkSend(tenantId: string, userId: string): Promise<void> {
    const record = await this.entitlement(tenantId);
    const now = this.#now();
    const windowStart = now - (now % WINDOW_MS);
    const limit = MESSAGES_PER_MINUTE[record.tier];
    let count: number;
    try {
      count = await this.#counter.hit(`${tenantId}:${userId}`, windowStart, WINDOW_MS);
    } catch (err) {
      // The shared counter is down: the send is not refused for it (the gateway still limits requests).
      this.#logger.warn({ err: (err as Error).message }, 'send counter unavailable; not limiting this send');
      count = 0;
    }
    if (count > limit) {
      const retryAfter = Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000));
      throw chatError(
        'CHAT_RATE_LIMITED',
        `at most ${limit} messages per minute on the ${record.tier} plan`,
        {
          headers: { 'retry-after': String(retryAfter) },
          extensions: { retryAfterSeconds: retryAfter },
        },
      );
    }
    if (record.messageQuota !== null) {
      const used = await this.#used(tenantId, record.quotaPeriodDays);
      if (used >= record.messageQuota) {
        const retryAfter = 3600;
        throw chatError(
          'CHAT_QUOTA_EXCEEDED',
          `the tenant's plan allows ${record.messageQuota} messages per ${record.quotaPeriodDays} days`,
          { headers: { 'retry-after': String(retryAfter) }, extensions: { retryAfterSeconds: retryAfter } },
        );
      }
      const usage = this.#usage.get(tenantId);
      if (usage !== undefined) usage.count++;
    }
  }

  async #used(tenantId: string, periodDays: number): Promise<number> {
    const cached = this.#usage.get(tenantId);
    if (cached !== undefined && cached.until > this.#now()) return cached.count;
    const since = new Date(this.#now() - periodDays * 86_400_000);
    const count = await countTenantMessagesSince(this.#db, tenantId, since);
    if (this.#usage.size > 10_000) this.#usage.clear();
    this.#usage.set(tenantId, { count, until: this.#now() + QUOTA_TTL_MS });
    return count;
  }
}
