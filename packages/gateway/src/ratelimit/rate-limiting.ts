import type { AssertionKey } from '@gatehouse/kit';
import type { RateLimitsConfig, RouteRateLimit } from './config.ts';
import { rateLimitHeaders } from './headers.ts';
import { type RateLimitIdentity, rateLimitKey } from './keys.ts';
import { MemoryRateLimiter } from './memory.ts';
import { checkAll, combine, createPolicyFor, type PolicyChoice, type RateLimitCheck } from './policy.ts';
import { type DegradedReason, RedisRateLimiter } from './redis.ts';
import {
  type EntitlementStore,
  followEntitlementChanges,
  httpEntitlementStore,
  memoryEntitlementStore,
  redisEntitlementStore,
  type Tier,
  TierResolver,
} from './tiers.ts';
import type { RateLimitDecision, RateLimiter, RateLimiterStatus } from './types.ts';

export interface RateLimitingOptions {
  /** Where tiers come from; default the limiter's Redis, else an empty map (everyone `free`). */
  readonly entitlements?: EntitlementStore;
  /** A check the local fallback decided (metric: gateway_rate_limiter_degraded_total{reason}). */
  readonly onDegraded?: (reason: DegradedReason) => void;
  /** An entitlement lookup failed or timed out (the tenant got `free` or its last known tier). */
  readonly onTierError?: (err: unknown) => void;
  /** Signs the calls to billing when tiers come from `entitlementsUrl`. */
  readonly assertionKeys?: readonly AssertionKey[];
}

/** The route as rate limiting sees it: an id for the key (the route prefix) and its override. */
export interface RateLimitRoute {
  readonly id: string;
  readonly rateLimit?: RouteRateLimit | undefined;
}

export interface RateLimitOutcome {
  readonly decision: RateLimitDecision;
  readonly tier: Tier;
  /** RateLimit, RateLimit-Policy, and Retry-After when refused: for every answer. */
  readonly headers: Record<string, string>;
}

export interface RateLimiting {
  readonly limiter: RateLimiter;
  readonly tiers: TierResolver;
  readonly policyFor: (tier: Tier, routeOverride?: RouteRateLimit) => PolicyChoice;
  /** Decides one request: tier from the entitlement, tier bucket + route bucket, headers. Never throws for a store failure. */
  limit(
    identity: RateLimitIdentity | undefined,
    clientIp: string,
    route?: RateLimitRoute,
  ): Promise<RateLimitOutcome>;
  /**
   * The same decision without a promise when it can be made at once: the
   * in-process limiter and a tier already known (anonymous, or cached).
   * Undefined when `limit` must be used (Redis, or a tier to look up).
   */
  limitSync(
    identity: RateLimitIdentity | undefined,
    clientIp: string,
    route?: RateLimitRoute,
  ): RateLimitOutcome | undefined;
  status(): RateLimiterStatus;
  close(): Promise<void>;
}

/**
 * Everything the rate-limit stage needs, built from the `rateLimits` config:
 * Redis when `redisUrl` is set (shared, exact across instances, local fallback
 * when it fails), process memory otherwise.
 */
export function createRateLimiting(
  config: RateLimitsConfig,
  options: RateLimitingOptions = {},
): RateLimiting {
  const redis =
    config.redisUrl === undefined
      ? undefined
      : new RedisRateLimiter({
          url: config.redisUrl,
          budgetMs: config.budgetMs,
          instances: config.instances,
          maxLocalKeys: config.maxKeys,
          ...(options.onDegraded === undefined ? {} : { onDegraded: options.onDegraded }),
        });
  const limiter: RateLimiter = redis ?? new MemoryRateLimiter({ maxKeys: config.maxKeys });
  const store =
    options.entitlements ??
    (redis !== undefined
      ? redisEntitlementStore(redis.client)
      : config.entitlementsUrl !== undefined && options.assertionKeys !== undefined
        ? httpEntitlementStore(config.entitlementsUrl, options.assertionKeys)
        : memoryEntitlementStore());
  const tiers = new TierResolver({
    store,
    ttlMs: config.tierCacheSeconds * 1_000,
    maxEntries: config.tierCacheEntries,
    budgetMs: config.budgetMs,
    ...(options.onTierError === undefined ? {} : { onError: options.onTierError }),
  });
  // Billing's announcements invalidate cached tiers on every instance (the store it writes is this Redis).
  const following =
    redis === undefined || options.entitlements !== undefined
      ? undefined
      : followEntitlementChanges(redis.client.duplicate(), tiers);
  const policyFor = createPolicyFor(config);
  const memory = limiter instanceof MemoryRateLimiter ? limiter : undefined;

  function checksFor(
    identity: RateLimitIdentity | undefined,
    clientIp: string,
    tier: Tier,
    route?: RateLimitRoute,
  ) {
    const policies = policyFor(tier, route?.rateLimit);
    const checks: RateLimitCheck[] = [{ key: rateLimitKey(identity, clientIp), policy: policies.tier }];
    if (policies.route !== undefined && route !== undefined) {
      checks.push({ key: rateLimitKey(identity, clientIp, route.id), policy: policies.route });
    }
    return checks;
  }

  return {
    limiter,
    tiers,
    policyFor,
    async limit(identity, clientIp, route) {
      const tier: Tier = identity === undefined ? 'anonymous' : await tiers.tierOf(identity.tid);
      const decision = await checkAll(limiter, checksFor(identity, clientIp, tier, route));
      return { decision, tier, headers: rateLimitHeaders(decision) };
    },
    limitSync(identity, clientIp, route) {
      if (memory === undefined) return undefined;
      const tier: Tier | undefined = identity === undefined ? 'anonymous' : tiers.cachedTier(identity.tid);
      if (tier === undefined) return undefined;
      const decisions = checksFor(identity, clientIp, tier, route).map((c) =>
        memory.checkSync(c.key, c.policy),
      );
      const decision = combine(decisions);
      return { decision, tier, headers: rateLimitHeaders(decision) };
    },
    status: () => limiter.status(),
    async close() {
      following?.close();
      await limiter.close();
    },
  };
}
