/**
 * Access decisions by (checker, tenant, user, resource type, resource id,
 * action), with separate lifetimes for allow and deny answers, bounded:
 * past `maxEntries` the oldest entry goes. Only real answers of a checker are
 * stored; failures never are (see access-checks.ts).
 */

export interface AccessQuery {
  readonly checker: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly resourceType: string;
  /** The path segment exactly as routed (canonical form, never decoded again). */
  readonly resourceId: string;
  readonly action: string;
}

/** Which cached decisions to drop: every field given must match; `{}` drops all. */
export interface InvalidationFilter {
  readonly tenantId?: string | undefined;
  readonly userId?: string | undefined;
  readonly resourceType?: string | undefined;
  readonly resourceId?: string | undefined;
}

export interface DecisionCacheOptions {
  readonly allowTtlMs: number;
  readonly denyTtlMs: number;
  readonly maxEntries: number;
  /** The clock (milliseconds); Date.now by default. */
  readonly now?: () => number;
}

interface Entry {
  readonly query: AccessQuery;
  readonly allowed: boolean;
  readonly expiresAt: number;
}

/** An unambiguous key: ids may contain any character, so the parts are JSON-encoded, not joined. */
export function decisionKey(q: AccessQuery): string {
  return JSON.stringify([q.checker, q.tenantId, q.userId, q.resourceType, q.resourceId, q.action]);
}

export function matchesFilter(q: AccessQuery, filter: InvalidationFilter): boolean {
  return (
    (filter.tenantId === undefined || filter.tenantId === q.tenantId) &&
    (filter.userId === undefined || filter.userId === q.userId) &&
    (filter.resourceType === undefined || filter.resourceType === q.resourceType) &&
    (filter.resourceId === undefined || filter.resourceId === q.resourceId)
  );
}

export class DecisionCache {
  readonly #options: DecisionCacheOptions;
  readonly #now: () => number;
  // A Map iterates in insertion order: its first key is the oldest entry.
  readonly #entries = new Map<string, Entry>();

  constructor(options: DecisionCacheOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get maxEntries(): number {
    return this.#options.maxEntries;
  }

  /** The cached decision, or undefined (none, or expired). */
  get(key: string): boolean | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.allowed;
  }

  set(key: string, query: AccessQuery, allowed: boolean): void {
    const ttl = allowed ? this.#options.allowTtlMs : this.#options.denyTtlMs;
    if (ttl <= 0) return;
    // Re-inserted, so a refreshed decision counts as the newest.
    this.#entries.delete(key);
    this.#entries.set(key, { query, allowed, expiresAt: this.#now() + ttl });
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Drops the decisions matching `filter`; returns how many. A scan: invalidations are rare, lookups are not. */
  invalidate(filter: InvalidationFilter): number {
    if (
      filter.tenantId === undefined &&
      filter.userId === undefined &&
      filter.resourceType === undefined &&
      filter.resourceId === undefined
    ) {
      return this.clear();
    }
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (matchesFilter(entry.query, filter)) {
        this.#entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  clear(): number {
    const dropped = this.#entries.size;
    this.#entries.clear();
    return dropped;
  }
}
