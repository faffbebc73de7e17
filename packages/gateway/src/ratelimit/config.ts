import { z } from 'zod';

/**
 * The `rateLimits` block of the gateway config and the per-route override.
 * Strict objects like the rest of the config (a typo is an error). The main
 * schema takes them as `rateLimits: rateLimitsSchema.prefault({})` and, in a
 * route, `rateLimit: routeRateLimitSchema.optional()`.
 */

const policySchema = z.strictObject({
  /** Requests per window. */
  limit: z.number().int().min(1).max(1_000_000_000),
  windowSeconds: z.number().int().min(1).max(86_400),
  /** Requests that may come at once; default `limit` (a whole window may be spent at once). */
  burst: z.number().int().min(1).max(1_000_000_000).optional(),
});

/** `routes[].rateLimit`: a stricter limit for one route, counted per caller and route, on top of the tier's. */
export const routeRateLimitSchema = policySchema;

export const rateLimitsSchema = z.strictObject({
  /** Gateway instances sharing the limits; while Redis is out each allows limit / instances. */
  instances: z.number().int().min(1).max(10_000).default(1),
  /** Redis shared by the instances (`{ env: REDIS_URL }`); in process memory when absent. */
  redisUrl: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  /** Time one check may wait for Redis before the local fallback decides. */
  budgetMs: z.number().int().min(1).max(5_000).default(50),
  /** Keys the in-memory limiter (or the fallback) holds at most. */
  maxKeys: z.number().int().min(1_000).max(10_000_000).default(100_000),
  /**
   * Without Redis: billing's address, to read tiers from its internal endpoint
   * (keep tierCacheSeconds low then: there are no announcements to invalidate).
   */
  entitlementsUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** How long a tenant's tier is cached, and how many tenants at most. */
  tierCacheSeconds: z.number().int().min(0).max(3_600).default(30),
  tierCacheEntries: z.number().int().min(1).max(1_000_000).default(10_000),
  tiers: z
    .strictObject({
      /** Callers without a verified token, per client address. */
      anonymous: policySchema.default({ limit: 60, windowSeconds: 60 }),
      free: policySchema.default({ limit: 600, windowSeconds: 60 }),
      standard: policySchema.default({ limit: 3_000, windowSeconds: 60 }),
      premium: policySchema.default({ limit: 12_000, windowSeconds: 60 }),
    })
    .prefault({}),
});

export type RateLimitsConfig = z.output<typeof rateLimitsSchema>;
export type RouteRateLimit = z.output<typeof routeRateLimitSchema>;
