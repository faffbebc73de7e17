import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RateLimiting } from '../ratelimit/index.ts';

/**
 * Stage 10. Keeps each caller within its limits: the key is the verified
 * identity (tenant and user), else the client address as the firewall
 * resolved it; the tier comes from the tenant's entitlement (anonymous by
 * address); a route may add a stricter limit. Every answer carries the
 * RateLimit and RateLimit-Policy headers; a refusal is a 429 with
 * Retry-After. When Redis fails the limiter decides locally (never unlimited,
 * never a 500): see ratelimit/redis.ts.
 */
export function createRateLimit(rateLimiting: RateLimiting, metrics: GatewayMetrics) {
  return async function rateLimit(ctx: RequestContext): Promise<void> {
    const route = ctx.route;
    if (route === undefined) return;
    const { decision, tier, headers } = await rateLimiting.limit(ctx.identity, ctx.clientIp, route);
    Object.assign(ctx.responseHeaders, headers);
    if (decision.allowed) return;
    metrics.rateLimited.inc({ route: route.id, tier });
    ctx.failure = `rate_limited:${tier}`;
    throw gatewayError('GW_RATE_LIMITED', 'Too many requests; try again later.', {
      headers: { 'retry-after': String(decision.retryAfterSeconds) },
    });
  };
}
