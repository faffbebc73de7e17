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

/**
 * A map of tenant id → record (tests). Empty, every tenant is on the free
 * plan: chat without Redis and without billing's URL.
 */
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

/** How long a record is used before it is read again, by where it comes from. */
export const RECORD_TTL_MS = {
  /** Billing's hash: its announcement drops a changed record at once; the TTL is only a backstop. */
  announced: 30_000,
  /** Billing's HTTP endpoint (no Redis): nothing announces a change, so this is how long one takes. */
  polled: 5_000,
} as const;

/**
 * The send limits of a tenant's plan: messages per user per minute by tier
 * (fixed one-minute windows) and the tenant's message quota per period. The
 * record is cached `recordTtlMs` (see `RECORD_TTL_MS`) and dropped when
 * billing announces a change; the quota's count comes from a `QuotaCounter`
 * that may lag a few seconds, so a busy tenant may overshoot its quota by
 * what it sends in that time (a quota is a bill, not a security boundary).
 *
 * Failure mode: a record that cannot be read never blocks a send and never
 * means no limits. The last record read stands (none: the free plan's), and
 * is used again for a TTL before the next try. With `readBudgetMs`, a send
 * waits at most that long for a read (billing over HTTP may hang until its
 * timeout): past it the send is judged on the last record (none: the free
 * plan), and the read, shared by the tenant's sends, fills the cache when it
 * ends.
 */
export class SendLimits {
  readonly #source: EntitlementSource;
  readonly #counter: SendCounter;
  readonly #quota: QuotaCounter;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #recordTtlMs: number;
  readonly #readBudgetMs: number | undefined;
  readonly #records = new Map<string, { record: EntitlementRecord; until: number }>();
  readonly #reads = new Map<string, Promise<EntitlementRecord>>();

  constructor(options: {
    source: EntitlementSource;
    counter: SendCounter;
    quota: QuotaCounter;
    logger: Logger;
    now?: () => number;
    recordTtlMs?: number;
    readBudgetMs?: number;
  }) {
    this.#source = options.source;
    this.#counter = options.counter;
    this.#quota = options.quota;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#recordTtlMs = options.recordTtlMs ?? RECORD_TTL_MS.announced;
    this.#readBudgetMs = options.readBudgetMs;
  }

  async entitlement(tenantId: string): Promise<EntitlementRecord> {
    const cached = this.#records.get(tenantId);
    if (cached !== undefined && cached.until > this.#now()) return cached.record;
    const read = this.#read(tenantId, cached?.record);
    if (this.#readBudgetMs === undefined) return read;
    return (await within(read, this.#readBudgetMs)) ?? cached?.record ?? FREE_ENTITLEMENT;
  }

  /** One read per tenant at a time; never rejects: a failed read gives `last` (none: the free plan). */
  #read(tenantId: string, last: EntitlementRecord | undefined): Promise<EntitlementRecord> {
    const running = this.#reads.get(tenantId);
    if (running !== undefined) return running;
    const read: Promise<EntitlementRecord> = this.#source
      .read(tenantId)
      .then(
        (record) => record ?? FREE_ENTITLEMENT,
        (err: Error) => {
          const record = last ?? FREE_ENTITLEMENT;
          this.#logger.warn(
            { err: err.message, tenantId, tier: record.tier, lastRecord: last !== undefined },
            'entitlement read failed; the last record stands (none: the free plan)',
          );
          return record;
        },
      )
      .then((record) => {
        // Billing announced a change while this read ran (invalidate): its answer may predate it.
        if (this.#reads.get(tenantId) === read) {
          this.#reads.delete(tenantId);
          if (this.#records.size > 10_000) this.#records.clear();
          this.#records.set(tenantId, { record, until: this.#now() + this.#recordTtlMs });
        }
        return record;
      });
    this.#reads.set(tenantId, read);
    return read;
  }

  /**
   * Billing announced a change (ENTITLEMENT_CHANNEL): read the record again
   * next time. The old record is kept as the last one, should that read fail.
   */
  invalidate(tenantId: string): void {
    const cached = this.#records.get(tenantId);
    if (cached !== undefined) this.#records.set(tenantId, { record: cached.record, until: 0 });
    this.#reads.delete(tenantId);
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

/** `promise`'s value, or undefined when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
