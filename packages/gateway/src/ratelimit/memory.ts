import { gcraDecision, gcraParams, gcraStep, toMicros } from './gcra.ts';
import type { RateLimitDecision, RateLimiter, RateLimiterStatus, RateLimitPolicy } from './types.ts';

export interface MemoryRateLimiterOptions {
  /** Keys held at most; past it the least recently counted key is dropped. Default 100 000. */
  readonly maxKeys?: number;
  /** Epoch ms; `check(…, now)` overrides it per call. Default `Date.now`. */
  readonly clock?: () => number;
}

/** Entries looked at from the old end of the map for expiry on each insert (amortised sweep). */
const SWEEP_PER_INSERT = 4;

/**
 * GCRA in process memory: for one gateway process, or as the local fallback of
 * the Redis limiter. Memory is bounded: a Map of key → TAT in the order keys
 * were last counted, expired entries (TAT passed) dropped lazily — on read,
 * and a few from the old end on each insert — and a hard cap that drops the
 * least recently counted key. Dropping a live key forgets its debt (that key
 * starts afresh), which only happens when more than `maxKeys` keys were active
 * within one window: size the cap above the expected number of active callers.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #tats = new Map<string, number>();
  readonly #maxKeys: number;
  readonly #clock: () => number;
  #evicted = 0;

  constructor(options: MemoryRateLimiterOptions = {}) {
    const maxKeys = options.maxKeys ?? 100_000;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw Object.assign(new Error('maxKeys must be an integer ≥ 1'), { code: 'RATELIMIT_INVALID_OPTION' });
    }
    this.#maxKeys = maxKeys;
    this.#clock = options.clock ?? Date.now;
  }

  async check(key: string, policy: RateLimitPolicy, now?: number): Promise<RateLimitDecision> {
    return this.checkSync(key, policy, now);
  }

  /** The same as `check`, for callers that want no promise (the Redis limiter's fallback). */
  checkSync(key: string, policy: RateLimitPolicy, now?: number, degraded = false): RateLimitDecision {
    const params = gcraParams(policy);
    const nowUs = toMicros(now ?? this.#clock());
    // The policy name is part of the key: a tier bucket and a route bucket never share a TAT.
    const id = `${policy.name}\u0000${key}`;
    const outcome = gcraStep(this.#tats.get(id), nowUs, params);
    if (outcome.allowed) {
      // Delete first so the key moves to the young end: Map order = order of last count.
      this.#tats.delete(id);
      this.#sweep(nowUs);
      if (this.#tats.size >= this.#maxKeys) this.#evictOldest();
      this.#tats.set(id, outcome.newTatUs);
    }
    return gcraDecision(outcome, nowUs, params, policy, degraded);
  }

  #sweep(nowUs: number): void {
    let looked = 0;
    for (const [id, tat] of this.#tats) {
      if (looked++ >= SWEEP_PER_INSERT) break;
      if (tat <= nowUs) this.#tats.delete(id);
    }
  }

  #evictOldest(): void {
    const oldest = this.#tats.keys().next();
    if (!oldest.done) {
      this.#tats.delete(oldest.value);
      this.#evicted++;
    }
  }

  /** Live keys dropped because of the cap (a gauge for "the cap is too small"). */
  get evicted(): number {
    return this.#evicted;
  }

  get size(): number {
    return this.#tats.size;
  }

  status(): RateLimiterStatus {
    return { backend: 'memory', degraded: false, keys: this.#tats.size, lastError: null };
  }

  async close(): Promise<void> {
    this.#tats.clear();
  }
}
