export {
  type RateLimitsConfig,
  type RouteRateLimit,
  rateLimitsSchema,
  routeRateLimitSchema,
} from './config.ts';
export { gcraDecision, gcraParams, gcraStep } from './gcra.ts';
export { rateLimitHeaders } from './headers.ts';
export { clientAddressKey, type RateLimitIdentity, rateLimitKey } from './keys.ts';
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './memory.ts';
export { checkAll, createPolicyFor, type PolicyChoice, type RateLimitCheck } from './policy.ts';
export {
  createRateLimiting,
  type RateLimiting,
  type RateLimitingOptions,
  type RateLimitOutcome,
  type RateLimitRoute,
} from './rate-limiting.ts';
export {
  type DegradedReason,
  localShare,
  RedisRateLimiter,
  type RedisRateLimiterOptions,
  redisClientOptions,
} from './redis.ts';
export {
  DEFAULT_TIER,
  type EntitlementStore,
  entitlementKey,
  memoryEntitlementStore,
  parseTier,
  redisEntitlementStore,
  TENANT_TIERS,
  type TenantTier,
  type Tier,
  TierResolver,
  type TierResolverOptions,
} from './tiers.ts';
export type { RateLimitDecision, RateLimiter, RateLimiterStatus, RateLimitPolicy } from './types.ts';
