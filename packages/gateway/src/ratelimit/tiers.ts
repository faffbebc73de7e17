import {
  type AssertionKey,
  createServiceCallSigner,
  DEFAULT_TIER,
  ENTITLEMENT_CHANNEL,
  entitlementKey,
  parseTier,
  type TenantTier,
} from '@gatehouse/kit';
import type { Redis } from 'ioredis';

// The entitlement record (its key, tiers and the tier's parsing) is billing's wire contract, defined in kit.
export { DEFAULT_TIER, entitlementKey, parseTier, TENANT_TIERS, type TenantTier } from '@gatehouse/kit';

/** `anonymous` is no tenant's tier: it is the tier of callers without a verified token. */
export type Tier = 'anonymous' | TenantTier;

/** Where entitlement records live: `entitlement:<tenantId>`, field `tier` (written by billing). */
export interface EntitlementStore {
  /** The tier field, or undefined when the tenant has no record. May throw or hang (the resolver copes). */
  tierOf(tenantId: string): Promise<string | undefined>;
}

/** The Redis hash `entitlement:<tenantId>`, field `tier`. */
export function redisEntitlementStore(redis: Redis): EntitlementStore {
  return {
    async tierOf(tenantId) {
      return (await redis.hget(entitlementKey(tenantId), 'tier')) ?? undefined;
    },
  };
}

/**
 * One machine without Redis: the tier from billing's internal endpoint
 * (`GET <billingUrl>/internal/entitlements/<tenantId>`, a signed service
 * call). Billing answers free for a tenant without a record; when it is down
 * the resolver keeps the last tier (or free).
 */
export function httpEntitlementStore(
  billingUrl: string,
  assertionKeys: readonly AssertionKey[],
): EntitlementStore {
  const sign = createServiceCallSigner(assertionKeys, 'gateway');
  const base = billingUrl.replace(/\/+$/, '');
  return {
    async tierOf(tenantId) {
      const path = `/internal/entitlements/${encodeURIComponent(tenantId)}`;
      const res = await fetch(`${base}${path}`, {
        headers: { ...sign('GET', path) },
        signal: AbortSignal.timeout(2_000),
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw Object.assign(new Error(`billing answered ${res.status}`), { code: 'ENTITLEMENT_HTTP' });
      }
      const record = (await res.json()) as { tier?: unknown };
      return typeof record.tier === 'string' ? record.tier : undefined;
    },
  };
}

/** An in-process map of tenant id → tier (one machine without Redis, and tests). */
export function memoryEntitlementStore(tiers: ReadonlyMap<string, string> = new Map()): EntitlementStore {
  return {
    async tierOf(tenantId) {
      return tiers.get(tenantId);
    },
  };
}

export interface TierResolverOptions {
  readonly store: EntitlementStore;
  /** How long a found tier is used. Default 30 s. */
  readonly ttlMs?: number;
  /** How long the default stands in after a store failure before asking again. Default 5 s. */
  readonly errorTtlMs?: number;
  /** Tenants cached at most (oldest dropped first). Default 10 000. */
  readonly maxEntries?: number;
  /** Time a lookup may take before the default (or the last known tier) is used. Default 50 ms. */
  readonly budgetMs?: number;
  readonly clock?: () => number;
  /** Called when a lookup failed or timed out (count it in a metric). */
  readonly onError?: (err: unknown) => void;
}

interface Entry {
  readonly tier: TenantTier;
  readonly expires: number;
}

const TIMED_OUT = Symbol('timed out');

/**
 * A tenant's tier from its entitlement record, cached briefly and bounded.
 * Never fails the request: no record, an unknown value, a store error or a
 * slow store all give `free` — or, after an error, the last tier known for the
 * tenant even if stale (a premium tenant is not downgraded by a Redis blip).
 * Concurrent lookups for one tenant share one store call.
 */
export class TierResolver {
  readonly #store: EntitlementStore;
  readonly #ttlMs: number;
  readonly #errorTtlMs: number;
  readonly #maxEntries: number;
  readonly #budgetMs: number;
  readonly #clock: () => number;
  readonly #onError: ((err: unknown) => void) | undefined;
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<TenantTier>>();

  constructor(options: TierResolverOptions) {
    this.#store = options.store;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#errorTtlMs = options.errorTtlMs ?? 5_000;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.#budgetMs = options.budgetMs ?? 50;
    this.#clock = options.clock ?? Date.now;
    this.#onError = options.onError;
  }

  /** The tier when it is cached and fresh, without waiting (the hot path); undefined otherwise. */
  cachedTier(tenantId: string): TenantTier | undefined {
    const cached = this.#cache.get(tenantId);
    return cached !== undefined && cached.expires > this.#clock() ? cached.tier : undefined;
  }

  async tierOf(tenantId: string): Promise<TenantTier> {
    const cached = this.#cache.get(tenantId);
    if (cached !== undefined && cached.expires > this.#clock()) return cached.tier;
    const pending = this.#inFlight.get(tenantId);
    if (pending !== undefined) return pending;
    const lookup = this.#lookup(tenantId, cached?.tier).finally(() => this.#inFlight.delete(tenantId));
    this.#inFlight.set(tenantId, lookup);
    return lookup;
  }

  async #lookup(tenantId: string, stale: TenantTier | undefined): Promise<TenantTier> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const work = this.#store.tierOf(tenantId);
      work.catch(() => {});
      const value = await Promise.race([
        work,
        new Promise<typeof TIMED_OUT>((resolve) => {
          timer = setTimeout(resolve, this.#budgetMs, TIMED_OUT);
        }),
      ]);
      if (value === TIMED_OUT)
        throw Object.assign(new Error('entitlement lookup timed out'), { code: 'TIMEOUT' });
      const tier = parseTier(value);
      this.#remember(tenantId, tier, this.#ttlMs);
      return tier;
    } catch (err) {
      try {
        this.#onError?.(err);
      } catch {
        // a metric hook must not fail the request
      }
      const tier = stale ?? DEFAULT_TIER;
      this.#remember(tenantId, tier, this.#errorTtlMs);
      return tier;
    } finally {
      clearTimeout(timer);
    }
  }

  #remember(tenantId: string, tier: TenantTier, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.#cache.delete(tenantId);
    if (this.#cache.size >= this.#maxEntries) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(tenantId, { tier, expires: this.#clock() + ttlMs });
  }

  /** Forget a tenant's tier (e.g. when billing announces a plan change). */
  invalidate(tenantId: string): void {
    this.#cache.delete(tenantId);
  }

  /** Forget every tier (announcements may have been missed while disconnected). */
  clear(): void {
    this.#cache.clear();
  }

  get size(): number {
    return this.#cache.size;
  }
}

/**
 * Applies billing's announcements on this instance: a changed tenant's cached
 * tier is forgotten at once (the message on ENTITLEMENT_CHANNEL is the tenant
 * id), so its next request reads the new record instead of waiting out the
 * cache TTL: a plan change reaches every instance within a second.
 * `subscriber` is a dedicated connection (Redis puts it in subscriber mode).
 * After a reconnect announcements may have been missed, so the whole cache is
 * dropped and every tier is read again.
 */
export function followEntitlementChanges(subscriber: Redis, resolver: TierResolver): { close(): void } {
  let connectedBefore = false;
  subscriber.on('error', () => {
    // The resolver's lookups report store failures; a subscriber error only delays invalidation.
  });
  subscriber.on('ready', () => {
    if (connectedBefore) resolver.clear();
    connectedBefore = true;
    subscriber.subscribe(ENTITLEMENT_CHANNEL).catch(() => {});
  });
  subscriber.on('message', (channel: string, tenantId: string) => {
    if (channel === ENTITLEMENT_CHANNEL && tenantId !== '') resolver.invalidate(tenantId);
  });
  return { close: () => subscriber.disconnect() };
}
