import type { RateLimitDecision, RateLimitPolicy } from './types.ts';

/**
 * GCRA (generic cell rate algorithm), the one algorithm both limiters use.
 *
 * Each key stores one number, its theoretical arrival time (TAT): when the key
 * would be back to a full quota. A request at `now` moves it to
 * `max(TAT, now) + T` (T = the emission interval, windowSeconds / limit) and is
 * allowed when that stays within the tolerance τ = T × burst of `now`. So
 * `burst` requests may come at once, then one per T; nothing is swept, and a
 * key whose TAT has passed is the same as an absent key (it can expire).
 *
 * All times are whole microseconds and T is rounded *up* to a whole
 * microsecond, so the arithmetic is exact in doubles (epoch µs < 2^53) and in
 * Redis's Lua alike — no float drift over a burst of 12 000 — and the rounding
 * can only make the limit a hair stricter, never looser.
 */

export interface GcraParams {
  /** T, µs per request. */
  readonly intervalUs: number;
  /** τ = T × burst, µs. */
  readonly toleranceUs: number;
}

export interface GcraOutcome {
  readonly allowed: boolean;
  /** The TAT to store when allowed (denials store nothing). */
  readonly newTatUs: number;
  /** max(stored TAT, now) before this request. */
  readonly tatUs: number;
}

function invalid(message: string): Error {
  return Object.assign(new Error(message), { code: 'RATELIMIT_INVALID_POLICY' });
}

/** Checks a policy (the config schema already does; this guards programmatic use). */
export function gcraParams(policy: RateLimitPolicy): GcraParams {
  const { limit, windowSeconds, burst = limit, name } = policy;
  if (typeof name !== 'string' || name.length === 0) throw invalid('rate-limit policy needs a name');
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw invalid(`policy ${name}: limit must be an integer ≥ 1`);
  if (!Number.isFinite(windowSeconds) || windowSeconds <= 0 || windowSeconds > 31_536_000) {
    throw invalid(`policy ${name}: windowSeconds must be > 0 and at most a year`);
  }
  if (!Number.isSafeInteger(burst) || burst < 1)
    throw invalid(`policy ${name}: burst must be an integer ≥ 1`);
  const intervalUs = Math.ceil((windowSeconds * 1_000_000) / limit);
  return { intervalUs, toleranceUs: intervalUs * burst };
}

/** One GCRA step. `storedTatUs` is undefined for an absent (or expired) key. */
export function gcraStep(storedTatUs: number | undefined, nowUs: number, params: GcraParams): GcraOutcome {
  const tatUs = storedTatUs === undefined || storedTatUs < nowUs ? nowUs : storedTatUs;
  const newTatUs = tatUs + params.intervalUs;
  return { allowed: newTatUs - nowUs <= params.toleranceUs, newTatUs, tatUs };
}

/** The decision both limiters return, from the outcome of one step. */
export function gcraDecision(
  outcome: GcraOutcome,
  nowUs: number,
  params: GcraParams,
  policy: RateLimitPolicy,
  degraded: boolean,
): RateLimitDecision {
  const { intervalUs, toleranceUs } = params;
  if (outcome.allowed) {
    const debtUs = outcome.newTatUs - nowUs;
    return {
      allowed: true,
      limit: policy.limit,
      remaining: Math.floor((toleranceUs - debtUs) / intervalUs),
      resetSeconds: Math.max(1, Math.ceil(debtUs / 1_000_000)),
      retryAfterSeconds: 0,
      policy,
      degraded,
    };
  }
  // The next request is allowed once TAT + T − now ≤ τ.
  const waitUs = outcome.newTatUs - toleranceUs - nowUs;
  return {
    allowed: false,
    limit: policy.limit,
    remaining: 0,
    resetSeconds: Math.max(1, Math.ceil((outcome.tatUs - nowUs) / 1_000_000)),
    retryAfterSeconds: Math.max(1, Math.ceil(waitUs / 1_000_000)),
    policy,
    degraded,
  };
}

/** Epoch milliseconds (possibly fractional) to whole microseconds. */
export function toMicros(ms: number): number {
  return Math.round(ms * 1_000);
}
