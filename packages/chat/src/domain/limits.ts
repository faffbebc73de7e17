import {
  type EntitlementRecord,
  entitlementKey,
  FREE_ENTITLEMENT,
  MESSAGES_PER_MINUTE,
  parseEntitlement,
} from '@gatehouse/kit';
import type { Logger, Queryable } from '@gatehouse/kit/service';
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

/** How much of its message quota a tenant has used. */
export interface QuotaUse {
  readonly used: number;
  /** When the count starts again (ms since the epoch), when the counter knows. */
  readonly resetsAt?: number | undefined;
}

/** Where the quota's count comes from: chat's own database, or billing's count (usage/quota.ts). */
export interface QuotaCounter {
  use(tenantId: string, periodDays: number): Promise<QuotaUse>;
  /** A send passed the check (a cached count can follow it). */
  accepted(tenantId: string): void;
}

/**
 * The tenant's messages in chat's own database over the last
 * `quotaPeriodDays` (a rolling window), cached 10 s per instance. Used when
 * usage reporting is off, and while billing's count is not to be had.
 */
export class DatabaseQuota implements QuotaCounter {
  readonly #db: Queryable;
  readonly #now: () => number;
  readonly #cache = new Map<string, { count: number; until: number }>();

  constructor(db: Queryable, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  async use(tenantId: string, periodDays: number): Promise<QuotaUse> {
    const cached = this.#cache.get(tenantId);
    if (cached !== undefined && cached.until > this.#now()) return { used: cached.count };
    const since = new Date(this.#now() - periodDays * 86_400_000);
    const count = await countTenantMessagesSince(this.#db, tenantId, since);
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(tenantId, { count, until: this.#now() + QUOTA_TTL_MS });
    return { used: count };
  }

  accepted(tenantId: string): void {
    const cached = this.#cache.get(tenantId);
    if (cached !== undefined) cached.count++;
  }
}

/**
 * The send limits of a tenant's plan: messages per user per minute by tier
 * (fixed one-minute windows) and the tenant's message quota per period. The
 * record is cached 30 s and dropped when billing announces a change; the
 * quota's count comes from a `QuotaCounter` that may lag a few seconds, so a
 * busy tenant may overshoot its quota by what it sends in that time (a quota
 * is a bill, not a security boundary). A store that fails means the free
 * plan's limits — never no limits.
 */
export class SendLimits {
  readonly #source: EntitlementSource;
  readonly #counter: SendCounter;
  readonly #quota: QuotaCounter;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #records = new Map<string, { record: EntitlementRecord; until: number }>();

  constructor(options: {
    source: EntitlementSource;
    counter: SendCounter;
    quota: QuotaCounter;
    logger: Logger;
    now?: () => number;
  }) {
    this.#source = options.source;
    this.#counter = options.counter;
    this.#quota = options.quota;
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
    if (record.messageQuota === null) return;
    const { used, resetsAt } = await this.#quota.use(tenantId, record.quotaPeriodDays);
    if (used >= record.messageQuota) {
      // Until the billing period ends when billing said when; else an hour (the rolling window moves).
      const retryAfter = resetsAt === undefined ? 3600 : Math.max(1, Math.ceil((resetsAt - now) / 1000));
      throw chatError(
        'CHAT_QUOTA_EXCEEDED',
        resetsAt === undefined
          ? `the tenant's plan allows ${record.messageQuota} messages per ${record.quotaPeriodDays} days`
          : `the tenant's plan allows ${record.messageQuota} messages per billing period; this one ends ${new Date(resetsAt).toISOString()}`,
        { headers: { 'retry-after': String(retryAfter) }, extensions: { retryAfterSeconds: retryAfter } },
      );
    }
    this.#quota.accepted(tenantId);
  }
}
