/** One rate-limit policy: `limit` requests per `windowSeconds`, of which `burst` may come at once. */
export interface RateLimitPolicy {
  /** Names the bucket (with the key) and the policy in the RateLimit headers. */
  readonly name: string;
  readonly limit: number;
  readonly windowSeconds: number;
  /** Requests that may arrive at once (the GCRA tolerance in emission intervals). Default: `limit`. */
  readonly burst?: number;
}

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Requests per window of the policy that decided (the local share of it when degraded). */
  readonly limit: number;
  /** Requests that may still be sent at once, ≥ 0. */
  readonly remaining: number;
  /** Seconds until the full quota is back (the `t` of the RateLimit header), ≥ 1. */
  readonly resetSeconds: number;
  /** 0 when allowed, else the whole seconds until a request would be allowed (≥ 1). */
  readonly retryAfterSeconds: number;
  /** The policy that decided (the local share of it when degraded; the name is kept). */
  readonly policy: RateLimitPolicy;
  /** True when the local fallback decided because Redis failed, was disconnected or too slow. */
  readonly degraded: boolean;
}

export interface RateLimiterStatus {
  backend: 'memory' | 'redis';
  degraded: boolean;
  /** Keys held in process memory (the fallback's, for Redis). */
  keys?: number;
  lastError?: string | null;
}

export interface RateLimiter {
  /**
   * Counts one request against `key` under `policy` and says whether it may pass.
   * `now` (ms since the epoch) is for tests of the memory limiter; Redis uses its own clock.
   */
  check(key: string, policy: RateLimitPolicy, now?: number): Promise<RateLimitDecision>;
  status(): RateLimiterStatus;
  close(): Promise<void>;
}
