import { type AssertionKey, createServiceCallSigner, type Logger } from '@gatehouse/kit';
import { Redis } from 'ioredis';
import type { BreakerState } from '../resilience/breaker.ts';
import { AccessCheckerClient, type AccessReason, type CheckOutcome } from './checker-client.ts';
import {
  type AccessQuery,
  DecisionCache,
  decisionKey,
  type InvalidationFilter,
  matchesFilter,
} from './decision-cache.ts';
import type { AccessSettings } from './schema.ts';

/**
 * Resource access decisions: a checker per resource owner, a decision cache
 * in front of them, and one call per question however many requests ask it
 * at once. Failure mode: closed — a checker that cannot give a clear answer
 * denies, and such a denial is never cached (the next request asks again).
 *
 * Invalidation: `invalidate(filter)` on this instance; with `redisUrl`, every
 * instance applies the filters published on `gatehouse:access-invalidations`.
 * A subscription that drops may miss some, so when it comes back the whole
 * cache is dropped; a decision is never older than its TTL in any case.
 */

export const ACCESS_INVALIDATION_CHANNEL = 'gatehouse:access-invalidations';

/** The subscriber's Redis client name (CLIENT LIST shows it). */
export const ACCESS_REDIS_CONNECTION_NAME = 'gatehouse-access-invalidations';

export type DecisionSource = 'cache' | 'checker' | 'coalesced';
/** Where an invalidation came from: this instance, Redis, or a dropped subscription coming back. */
export type InvalidationSource = 'local' | 'redis' | 'resubscribe';

export interface AccessDecision extends CheckOutcome {
  readonly source: DecisionSource;
}

/** For metrics: every label is bounded (checker names, reasons), never a user or a resource. */
export interface AccessCheckHooks {
  onDecision?(checker: string, reason: AccessReason, source: DecisionSource): void;
  onCacheLookup?(result: 'hit' | 'miss'): void;
  /** One call to a checker (not made when the breaker is open), with its outcome and duration. */
  onCheckerCall?(checker: string, reason: AccessReason, seconds: number): void;
  onBreakerChange?(checker: string, state: BreakerState, previous: BreakerState): void;
  onInvalidation?(source: InvalidationSource, dropped: number): void;
}

export interface AccessChecksOptions {
  readonly settings: AccessSettings;
  /** The gateway's assertion keys: calls are signed as the platform service `gateway`. */
  readonly assertionKeys: readonly AssertionKey[];
  readonly logger: Logger;
  readonly hooks?: AccessCheckHooks;
  /** The cache's clock (milliseconds); Date.now by default. */
  readonly now?: () => number;
}

export interface AccessStats {
  cacheHits: number;
  cacheMisses: number;
  checkerCalls: number;
  coalesced: number;
  invalidated: number;
  decisions: Record<AccessReason, number>;
}

export interface AccessStatus {
  readonly cache: { readonly entries: number; readonly maxEntries: number };
  readonly inFlight: number;
  readonly redis: 'off' | 'subscribed' | 'disconnected';
  readonly checkers: readonly {
    readonly name: string;
    readonly url: string;
    readonly breaker: BreakerState;
  }[];
}

interface Flight {
  readonly query: AccessQuery;
  readonly promise: Promise<CheckOutcome>;
  /** Set when an invalidation matched while the call was out: its answer is not cached. */
  stale: boolean;
}

export class AccessChecks {
  readonly stats: AccessStats = {
    cacheHits: 0,
    cacheMisses: 0,
    checkerCalls: 0,
    coalesced: 0,
    invalidated: 0,
    decisions: { allowed: 0, denied: 0, timeout: 0, error: 0, bad_answer: 0, circuit_open: 0 },
  };
  readonly #settings: AccessSettings;
  readonly #logger: Logger;
  readonly #hooks: AccessCheckHooks;
  readonly #cache: DecisionCache;
  readonly #clients = new Map<string, AccessCheckerClient>();
  readonly #inFlight = new Map<string, Flight>();
  #redis: Redis | undefined;
  #subscribedOnce = false;

  constructor(options: AccessChecksOptions) {
    this.#settings = options.settings;
    this.#logger = options.logger;
    this.#hooks = options.hooks ?? {};
    const { cache } = options.settings;
    this.#cache = new DecisionCache({
      allowTtlMs: cache.allowTtlSeconds * 1000,
      denyTtlMs: cache.denyTtlSeconds * 1000,
      maxEntries: cache.maxEntries,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    const sign = createServiceCallSigner(options.assertionKeys, 'gateway');
    for (const [name, config] of Object.entries(options.settings.checkers)) {
      this.#clients.set(
        name,
        new AccessCheckerClient(name, config, sign, (state, previous) => {
          this.#logger[state === 'open' ? 'warn' : 'info'](
            { event: 'circuit_breaker', checker: name, state, previous },
            `access checker ${name}: circuit breaker ${state}`,
          );
          this.#hooks.onBreakerChange?.(name, state, previous);
        }),
      );
    }
  }

  /** Names of the declared checkers. */
  get checkerNames(): string[] {
    return [...this.#clients.keys()];
  }

  /** The checker's breaker (for /health and tests). */
  breaker(checker: string): AccessCheckerClient['breaker'] | undefined {
    return this.#clients.get(checker)?.breaker;
  }

  /** May the user do `action` to the resource? Never throws; anything but a clear yes is a no. */
  async check(query: AccessQuery, requestId?: string): Promise<AccessDecision> {
    const key = decisionKey(query);
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      this.#hooks.onCacheLookup?.('hit');
      return this.#decided(
        query.checker,
        { allowed: cached, reason: cached ? 'allowed' : 'denied' },
        'cache',
      );
    }
    this.stats.cacheMisses++;
    this.#hooks.onCacheLookup?.('miss');
    const flight = this.#inFlight.get(key);
    if (flight !== undefined) {
      this.stats.coalesced++;
      return this.#decided(query.checker, await flight.promise, 'coalesced');
    }
    const client = this.#clients.get(query.checker);
    if (client === undefined) {
      // The config's cross-reference check makes this unreachable; closed all the same.
      return this.#decided(
        query.checker,
        { allowed: false, reason: 'error', detail: 'unknown checker' },
        'checker',
      );
    }
    const started = performance.now();
    const own: Flight = {
      query,
      stale: false,
      promise: client.check(query, requestId).catch(
        (err: unknown): CheckOutcome => ({
          allowed: false,
          reason: 'error',
          detail: (err as Error).message,
        }),
      ),
    };
    this.#inFlight.set(key, own);
    let outcome: CheckOutcome;
    try {
      outcome = await own.promise;
    } finally {
      if (this.#inFlight.get(key) === own) this.#inFlight.delete(key);
    }
    if (outcome.reason !== 'circuit_open') {
      this.stats.checkerCalls++;
      this.#hooks.onCheckerCall?.(query.checker, outcome.reason, (performance.now() - started) / 1000);
    }
    // Only what the checker actually said is worth remembering; a failure is asked again next time.
    if ((outcome.reason === 'allowed' || outcome.reason === 'denied') && !own.stale) {
      this.#cache.set(key, query, outcome.allowed);
    }
    return this.#decided(query.checker, outcome, 'checker');
  }

  /** Drops the cached decisions matching `filter` on this instance; returns how many. */
  invalidate(filter: InvalidationFilter, source: InvalidationSource = 'local'): number {
    // Calls already out may have been answered before the change: they are not joined or cached.
    for (const [key, flight] of this.#inFlight) {
      if (matchesFilter(flight.query, filter)) {
        flight.stale = true;
        this.#inFlight.delete(key);
      }
    }
    const dropped = this.#cache.invalidate(filter);
    this.stats.invalidated += dropped;
    this.#hooks.onInvalidation?.(source, dropped);
    return dropped;
  }

  /** Subscribes to invalidations when `redisUrl` is set. Resolves at once; a Redis that is down is retried. */
  start(): void {
    const url = this.#settings.redisUrl;
    if (url === undefined || this.#redis !== undefined) return;
    const redis = new Redis(url, {
      connectionName: ACCESS_REDIS_CONNECTION_NAME,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      lazyConnect: false,
    });
    this.#redis = redis;
    redis.on('error', (err: Error) =>
      this.#logger.warn({ err: err.message }, 'access checks: redis problem (invalidations wait)'),
    );
    redis.on('ready', () => {
      // ioredis resubscribes by itself; what was published while we were away is lost, so drop it all.
      if (this.#subscribedOnce) {
        const dropped = this.invalidate({}, 'resubscribe');
        this.#logger.info({ dropped }, 'access checks: redis back, decision cache dropped');
      }
    });
    redis.on('message', (_channel: string, message: string) => {
      const filter = parseInvalidation(message);
      if (filter === undefined) {
        // Someone meant to revoke something; guessing what could keep a stale allow alive.
        this.#logger.warn(
          { message: message.slice(0, 200) },
          'access checks: malformed invalidation, cache dropped',
        );
        this.invalidate({}, 'redis');
        return;
      }
      this.invalidate(filter, 'redis');
    });
    redis
      .subscribe(ACCESS_INVALIDATION_CHANNEL)
      .then(() => {
        this.#subscribedOnce = true;
      })
      .catch((err: Error) => {
        this.#logger.warn({ err: err.message }, 'access checks: subscribe failed; retried on reconnect');
      });
  }

  /** Resolves once the invalidation subscription is live (for tests and /ready); false on timeout. */
  async subscribed(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#subscribedOnce && this.#redis?.status === 'ready') return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  }

  async stop(): Promise<void> {
    const redis = this.#redis;
    this.#redis = undefined;
    await Promise.all([
      ...[...this.#clients.values()].map((c) => c.close()),
      redis?.quit().catch(() => redis.disconnect()),
    ]);
  }

  status(): AccessStatus {
    let redis: AccessStatus['redis'] = 'off';
    if (this.#redis !== undefined) redis = this.#redis.status === 'ready' ? 'subscribed' : 'disconnected';
    return {
      cache: { entries: this.#cache.size, maxEntries: this.#cache.maxEntries },
      inFlight: this.#inFlight.size,
      redis,
      checkers: [...this.#clients.values()].map((c) => ({
        name: c.name,
        url: c.url,
        breaker: c.breaker.state,
      })),
    };
  }

  #decided(checker: string, outcome: CheckOutcome, source: DecisionSource): AccessDecision {
    this.stats.decisions[outcome.reason]++;
    this.#hooks.onDecision?.(checker, outcome.reason, source);
    return { ...outcome, source };
  }
}

const FILTER_KEYS = new Set(['tenantId', 'userId', 'resourceType', 'resourceId']);

/**
 * An invalidation message: a JSON object with only the keys tenantId,
 * userId, resourceType, resourceId, each a non-empty string. Undefined for
 * anything else.
 */
export function parseInvalidation(message: string): InvalidationFilter | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const filter: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!FILTER_KEYS.has(key) || typeof item !== 'string' || item === '') return undefined;
    filter[key] = item;
  }
  return filter as InvalidationFilter;
}
