import type { RateLimitsConfig, RouteRateLimit } from './config.ts';
import type { Tier } from './tiers.ts';
import type { RateLimitDecision, RateLimiter, RateLimitPolicy } from './types.ts';

export interface PolicyChoice {
  /** The caller's tier policy, always checked. */
  readonly tier: RateLimitPolicy;
  /** The route's stricter policy, checked in addition (with a key that includes the route). */
  readonly route?: RateLimitPolicy;
}

/**
 * Picks the policies for a request from the config: the tier's, and the
 * route's override if it has one. The route override does not replace the
 * tier limit — both are checked and either can refuse (a sign-in route at 5/min
 * still counts against the caller's 600/min).
 */
export function createPolicyFor(config: Pick<RateLimitsConfig, 'tiers'>) {
  const tiers: Record<Tier, RateLimitPolicy> = {
    anonymous: { name: 'anonymous', ...config.tiers.anonymous },
    free: { name: 'free', ...config.tiers.free },
    standard: { name: 'standard', ...config.tiers.standard },
    premium: { name: 'premium', ...config.tiers.premium },
  };
  return function policyFor(tier: Tier, routeOverride?: RouteRateLimit): PolicyChoice {
    const policy = tiers[tier];
    return routeOverride === undefined
      ? { tier: policy }
      : { tier: policy, route: { name: 'route', ...routeOverride } };
  };
}

export interface RateLimitCheck {
  readonly key: string;
  readonly policy: RateLimitPolicy;
}

/**
 * Checks several buckets at once (in parallel: one round trip of latency) and
 * combines them: refused if any refuses — the refusal with the longest wait,
 * so Retry-After is honest — else the allowed decision with the least left
 * (the one the client is closest to). Degraded if any was. Each check that
 * allowed has counted the request even when another refused; that errs on the
 * strict side by at most one request per refusal.
 */
export async function checkAll(
  limiter: RateLimiter,
  checks: readonly RateLimitCheck[],
  now?: number,
): Promise<RateLimitDecision> {
  if (checks.length === 0) {
    throw Object.assign(new Error('checkAll needs at least one check'), { code: 'RATELIMIT_NO_CHECKS' });
  }
  return combine(await Promise.all(checks.map((c) => limiter.check(c.key, c.policy, now))));
}

/** One decision from several: a refusal wins (the longest wait), else the one with least left. */
export function combine(decisions: readonly RateLimitDecision[]): RateLimitDecision {
  const degraded = decisions.some((d) => d.degraded);
  const refused = decisions.filter((d) => !d.allowed);
  const pick =
    refused.length > 0
      ? refused.reduce((a, b) => (b.retryAfterSeconds > a.retryAfterSeconds ? b : a))
      : decisions.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  return pick.degraded === degraded ? pick : { ...pick, degraded };
}
