import { type AssertionKey, createServiceCallSigner, internalUserPath, type Logger } from '@gatehouse/kit';
import { type BreakerState, CircuitBreaker } from '../resilience/breaker.ts';
import { type BreakerDefaults, breakerOptions } from '../resilience/breaker-options.ts';
import { type InternalAnswer, InternalClient, type Verdict } from '../resilience/internal-client.ts';

/** What the identity service says of a user in one tenant. */
export interface UserRecord {
  readonly status: 'active' | 'disabled' | 'unknown';
  readonly member: boolean;
  readonly roles: readonly string[];
}

export type LookupSource = 'hit' | 'miss' | 'stale' | 'coalesced';

export interface UserDirectoryOptions {
  readonly identityUrl: string;
  readonly assertionKeys: readonly AssertionKey[];
  readonly logger: Logger;
  readonly cacheMs: number;
  /** How long a cached record may still be used while the identity service is unreachable. */
  readonly staleMs: number;
  readonly timeoutMs: number;
  readonly maxEntries: number;
  readonly onLookup?: (source: LookupSource | 'unavailable') => void;
  readonly onBreakerChange?: (state: BreakerState, previous: BreakerState) => void;
  readonly now?: () => number;
}

interface Entry {
  readonly record: UserRecord;
  readonly fetchedAt: number;
}

/** The identity service could not answer and nothing usable is cached. */
export class IdentityUnavailable extends Error {
  readonly code = 'IDENTITY_UNAVAILABLE';
}

const MAX_ANSWER_BYTES = 64 * 1024;

/** The identity service's breaker; a probe gets the lookup's whole timeout. */
const IDENTITY_BREAKER_DEFAULTS: BreakerDefaults = {
  windowMs: 10_000,
  minimumRequests: 10,
  failureRate: 0.5,
  openMs: 5_000,
  halfOpenProbes: 1,
  probeTimeoutMs: Number.POSITIVE_INFINITY,
};

/**
 * Confirms users against the identity service after their token verified:
 * still active, still a member of the token's tenant, and their roles now
 * (which may be fewer than the token says). Answers are cached (5 minutes by
 * default), concurrent lookups for one user coalesce into one call, and
 * revocation events for a user or tenant drop their entries. When the
 * identity service fails (error, timeout, open breaker) a cached record is
 * used for up to `staleMs`; with none the lookup fails and the request gets
 * a 503 — never a guess.
 */
export class UserDirectory {
  readonly #options: UserDirectoryOptions;
  readonly #now: () => number;
  readonly #client: InternalClient;
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<UserRecord>>();
  /** Bumped by every invalidation; a lookup that started before one is not cached. */
  #generation = 0;
  readonly breaker: CircuitBreaker;

  constructor(options: UserDirectoryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.breaker = new CircuitBreaker(
      'identity',
      breakerOptions({}, IDENTITY_BREAKER_DEFAULTS, options.timeoutMs),
      options.onBreakerChange,
    );
    this.#client = new InternalClient({
      url: options.identityUrl,
      sign: createServiceCallSigner(options.assertionKeys, 'gateway'),
      timeoutMs: options.timeoutMs,
      maxBodyBytes: MAX_ANSWER_BYTES,
      what: 'user record',
      breaker: this.breaker,
    });
  }

  get size(): number {
    return this.#cache.size;
  }

  /** A fresh cached record, without waiting (the hot path); undefined when a lookup is needed. */
  cached(sub: string, tid: string): UserRecord | undefined {
    const entry = this.#cache.get(`${sub}\n${tid}`);
    if (entry === undefined || this.#now() - entry.fetchedAt >= this.#options.cacheMs) return undefined;
    this.#options.onLookup?.('hit');
    return entry.record;
  }

  async lookup(sub: string, tid: string): Promise<UserRecord> {
    const fresh = this.cached(sub, tid);
    if (fresh !== undefined) return fresh;
    const key = `${sub}\n${tid}`;
    // An expired entry may still serve (stale) if the identity service fails.
    const cached = this.#cache.get(key);
    const now = this.#now();
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) {
      this.#options.onLookup?.('coalesced');
      return this.#orStale(pending, cached, now);
    }
    const generation = this.#generation;
    const fetching = this.#fetch(sub, tid).then((record) => {
      // An invalidation while this lookup was out may mean its answer is already stale: use it for
      // this request, but do not keep it.
      if (generation === this.#generation) this.#store(key, record);
      return record;
    });
    this.#inFlight.set(key, fetching);
    fetching.then(
      () => this.#inFlight.delete(key),
      () => this.#inFlight.delete(key),
    );
    this.#options.onLookup?.('miss');
    return this.#orStale(fetching, cached, now);
  }

  /** Drops what a revocation event makes doubtful: one user's entries, or a whole tenant's. */
  invalidate(match: { sub?: string; tid?: string }): void {
    this.#generation++;
    for (const key of this.#cache.keys()) {
      const [sub, tid] = key.split('\n');
      if ((match.sub === undefined || match.sub === sub) && (match.tid === undefined || match.tid === tid)) {
        this.#cache.delete(key);
      }
    }
  }

  async #orStale(fetching: Promise<UserRecord>, cached: Entry | undefined, now: number): Promise<UserRecord> {
    try {
      return await fetching;
    } catch (err) {
      if (cached !== undefined && now - cached.fetchedAt < this.#options.staleMs) {
        this.#options.onLookup?.('stale');
        return cached.record;
      }
      this.#options.onLookup?.('unavailable');
      throw new IdentityUnavailable((err as Error).message);
    }
  }

  #store(key: string, record: UserRecord): void {
    this.#cache.delete(key);
    if (this.#cache.size >= this.#options.maxEntries) {
      this.#cache.delete(this.#cache.keys().next().value as string);
    }
    this.#cache.set(key, { record, fetchedAt: this.#now() });
  }

  async #fetch(sub: string, tid: string): Promise<UserRecord> {
    try {
      return await this.#client.call(
        {
          method: 'GET',
          path: internalUserPath(sub),
          query: `?tenant=${encodeURIComponent(tid)}`,
          headers: { accept: 'application/json' },
        },
        (answer) => judgeRecord(answer, tid),
      );
    } catch (err) {
      // An open breaker made no call: nothing failed that is worth a log line.
      if ((err as { code?: unknown }).code === 'INTERNAL_CIRCUIT_OPEN') {
        throw new Error('identity service circuit open');
      }
      this.#options.logger.warn({ err: (err as Error).message }, 'identity: user lookup failed');
      throw err;
    }
  }
}

function judgeRecord(answer: InternalAnswer, tid: string): Verdict<UserRecord> {
  if (answer.statusCode === 404 || answer.statusCode === 400) {
    // No such user (or not a user id the identity service knows): a definite answer.
    return { value: { status: 'unknown', member: false, roles: [] }, healthy: true };
  }
  if (answer.statusCode !== 200) throw new Error(`identity service answered ${answer.statusCode}`);
  return { value: parseRecord(JSON.parse(answer.text), tid), healthy: true };
}

function parseRecord(value: unknown, tid: string): UserRecord {
  const v = (value ?? {}) as Record<string, unknown>;
  if (
    (v.status !== 'active' && v.status !== 'disabled') ||
    typeof v.member !== 'boolean' ||
    !Array.isArray(v.roles) ||
    !v.roles.every((r) => typeof r === 'string')
  ) {
    throw new Error('identity service answered a malformed user record');
  }
  // A membership answer for another tenant is not an answer about this one.
  const member = v.member && (v.tenantId === undefined || v.tenantId === tid);
  return { status: v.status, member, roles: member ? (v.roles as string[]) : [] };
}
