/**
 * A circuit breaker over a rolling window: it opens when, with at least
 * `minimumRequests` in the window, the failure rate reaches the threshold.
 * Open, it refuses at once (the caller answers 503 with Retry-After) for
 * `openMs`; then it lets `halfOpenProbes` requests through as probes, each
 * with its own (short) timeout: if they all succeed it closes, if one fails
 * it opens again. Only what the caller counts as a failure counts (for
 * upstreams: 5xx, connection errors and timeouts, never 4xx).
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  readonly windowMs: number;
  readonly buckets: number;
  readonly minimumRequests: number;
  /** 0..1 */
  readonly failureRate: number;
  readonly openMs: number;
  readonly halfOpenProbes: number;
  readonly probeTimeoutMs: number;
}

export const STATE_VALUE: Record<BreakerState, number> = { closed: 0, open: 1, half_open: 2 };

export class CircuitBreaker {
  readonly name: string;
  readonly options: BreakerOptions;
  readonly #bucketMs: number;
  readonly #successes: Float64Array;
  readonly #failures: Float64Array;
  #bucketStart = 0;
  #bucketIndex = 0;
  #state: BreakerState = 'closed';
  #openedAt = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  readonly #onChange: ((state: BreakerState, previous: BreakerState) => void) | undefined;

  constructor(
    name: string,
    options: BreakerOptions,
    onChange?: (state: BreakerState, previous: BreakerState) => void,
  ) {
    this.name = name;
    this.options = options;
    this.#bucketMs = Math.max(1, Math.floor(options.windowMs / options.buckets));
    this.#successes = new Float64Array(options.buckets);
    this.#failures = new Float64Array(options.buckets);
    this.#onChange = onChange;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /**
   * Whether a request may go out now. Returns 'probe' for a half-open probe
   * (the caller uses the probe timeout and must report its outcome).
   */
  acquire(now = Date.now()): 'yes' | 'probe' | 'no' {
    if (this.#state === 'closed') return 'yes';
    if (this.#state === 'open') {
      if (now - this.#openedAt < this.options.openMs) return 'no';
      this.#transition('half_open');
      this.#probeSuccesses = 0;
      this.#probesInFlight = 0;
    }
    if (this.#probesInFlight + this.#probeSuccesses >= this.options.halfOpenProbes) return 'no';
    this.#probesInFlight++;
    return 'probe';
  }

  /** Seconds until the breaker lets a probe through (for Retry-After), at least 1. */
  retryAfterSeconds(now = Date.now()): number {
    if (this.#state !== 'open') return 1;
    return Math.max(1, Math.ceil((this.options.openMs - (now - this.#openedAt)) / 1000));
  }

  success(probe: boolean, now = Date.now()): void {
    if (probe) {
      this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
      if (this.#state !== 'half_open') return;
      this.#probeSuccesses++;
      if (this.#probeSuccesses >= this.options.halfOpenProbes) this.#close(now);
      return;
    }
    this.#count(now, false);
  }

  failure(probe: boolean, now = Date.now()): void {
    if (probe) {
      this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
      if (this.#state === 'half_open') this.#open(now);
      return;
    }
    this.#count(now, true);
    if (this.#state !== 'closed') return;
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < this.options.buckets; i++) {
      ok += this.#successes[i] as number;
      failed += this.#failures[i] as number;
    }
    const total = ok + failed;
    if (total >= this.options.minimumRequests && failed / total >= this.options.failureRate) this.#open(now);
  }

  /** A probe that ended without an outcome (client gone): frees its slot. */
  release(probe: boolean): void {
    if (probe) this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
  }

  #count(now: number, failed: boolean): void {
    this.#rotate(now);
    const i = this.#bucketIndex;
    if (failed) this.#failures[i] = (this.#failures[i] as number) + 1;
    else this.#successes[i] = (this.#successes[i] as number) + 1;
  }

  /** Moves the current bucket forward to `now`, clearing buckets that fell out of the window. */
  #rotate(now: number): void {
    const elapsed = Math.floor((now - this.#bucketStart) / this.#bucketMs);
    if (elapsed <= 0) return;
    const steps = Math.min(elapsed, this.options.buckets);
    for (let s = 0; s < steps; s++) {
      this.#bucketIndex = (this.#bucketIndex + 1) % this.options.buckets;
      this.#successes[this.#bucketIndex] = 0;
      this.#failures[this.#bucketIndex] = 0;
    }
    this.#bucketStart += elapsed * this.#bucketMs;
  }

  #open(now: number): void {
    this.#openedAt = now;
    this.#transition('open');
  }

  #close(now: number): void {
    this.#successes.fill(0);
    this.#failures.fill(0);
    this.#bucketStart = now;
    this.#transition('closed');
  }

  #transition(state: BreakerState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#onChange?.(state, previous);
  }
}
