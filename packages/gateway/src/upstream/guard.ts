import type { TimeoutClass } from '../config/schema.ts';
import { type BreakerOptions, type BreakerState, CircuitBreaker } from '../resilience/breaker.ts';

/**
 * What stands between the gateway and one upstream, built for every declared
 * upstream so none can be left out: a circuit breaker, a cap on concurrent
 * requests (so one slow service cannot take every socket and all memory),
 * and a retry budget (retries add at most `budgetPercent` extra load).
 */

/** Breaker thresholds by upstream class: slower classes need fewer, longer-spaced probes. */
export const BREAKER_DEFAULTS: Record<TimeoutClass, Omit<BreakerOptions, 'buckets'>> = {
  fast: {
    windowMs: 10_000,
    minimumRequests: 20,
    failureRate: 0.5,
    openMs: 5_000,
    halfOpenProbes: 1,
    probeTimeoutMs: 2_000,
  },
  standard: {
    windowMs: 10_000,
    minimumRequests: 20,
    failureRate: 0.5,
    openMs: 10_000,
    halfOpenProbes: 1,
    probeTimeoutMs: 5_000,
  },
  slow: {
    windowMs: 30_000,
    minimumRequests: 10,
    failureRate: 0.5,
    openMs: 30_000,
    halfOpenProbes: 1,
    probeTimeoutMs: 15_000,
  },
  batch: {
    windowMs: 60_000,
    minimumRequests: 5,
    failureRate: 0.5,
    openMs: 60_000,
    halfOpenProbes: 1,
    probeTimeoutMs: 30_000,
  },
};

export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** Retries allowed per request, on average (0.2 = at most 20% extra load). */
  readonly budget: number;
}

export class UpstreamGuard {
  readonly name: string;
  readonly breaker: CircuitBreaker;
  readonly maxConcurrent: number;
  readonly retry: RetryPolicy;
  inFlight = 0;
  #retryTokens: number;
  readonly #retryTokenCap: number;

  constructor(
    name: string,
    breaker: BreakerOptions,
    maxConcurrent: number,
    retry: RetryPolicy,
    onBreakerChange?: (name: string, state: BreakerState, previous: BreakerState) => void,
  ) {
    this.name = name;
    this.breaker = new CircuitBreaker(name, breaker, (state, previous) =>
      onBreakerChange?.(name, state, previous),
    );
    this.maxConcurrent = maxConcurrent;
    this.retry = retry;
    // A small reserve, so the first failures of a quiet upstream can be retried.
    this.#retryTokenCap = Math.max(1, 10 * retry.budget);
    this.#retryTokens = this.#retryTokenCap;
  }

  /** Every request earns a fraction of a retry. */
  earnRetry(): void {
    this.#retryTokens = Math.min(this.#retryTokenCap, this.#retryTokens + this.retry.budget);
  }

  /** Spends one retry from the budget, if there is one. */
  spendRetry(): boolean {
    if (this.#retryTokens < 1) return false;
    this.#retryTokens -= 1;
    return true;
  }

  /** Full-jitter exponential backoff for retry number `attempt` (1-based). */
  backoffMs(attempt: number, random = Math.random): number {
    return Math.floor(
      random() * Math.min(this.retry.maxBackoffMs, this.retry.backoffMs * 2 ** (attempt - 1)),
    );
  }
}
