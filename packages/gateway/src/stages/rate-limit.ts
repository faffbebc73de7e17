import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RateLimiting, RateLimitOutcome } from '../ratelimit/index.ts';
import type { CompiledRoute } from '../routing/route-table.ts';
import type { RequestTracing } from '../tracing.ts';

/**
 * Stage 9. Keeps each caller within its limits: the key is the verified
 * identity (tenant and user), else the client address as the firewall
 * resolved it; the tier comes from the tenant's entitlement (anonymous by
 * address); a route may add a stricter limit. Every answer carries the
 * RateLimit and RateLimit-Policy headers; a refusal is a 429 with
 * Retry-After. When Redis fails the limiter decides locally (never unlimited,
 * never a 500): see ratelimit/redis.ts.
 */
export function createRateLimit(
  rateLimiting: RateLimiting,
  metrics: GatewayMetrics,
  tracing?: RequestTracing | undefined,
) {
  // The slow path is a Redis round trip (or the tenant's tier lookup): that is what the span times.
  const spanAttributes =
    rateLimiting.status().backend === 'redis'
      ? { 'db.system.name': 'redis', 'db.operation.name': 'EVALSHA' }
      : {};
  function apply(ctx: RequestContext, route: CompiledRoute, outcome: RateLimitOutcome): void {
    const { decision, tier, headers } = outcome;
    Object.assign(ctx.responseHeaders, headers);
    if (decision.allowed) return;
    metrics.rateLimited.inc({ route: route.id, tier });
    ctx.failure = `rate_limited:${tier}`;
    throw gatewayError('GW_RATE_LIMITED', 'Too many requests; try again later.', {
      headers: { 'retry-after': String(decision.retryAfterSeconds) },
    });
  }

  return function rateLimit(ctx: RequestContext): Promise<void> | undefined {
    const route = ctx.route;
    if (route === undefined) return undefined;
    // In process memory with a known tier the decision needs no promise: the common case.
    const now = rateLimiting.limitSync(ctx.identity, ctx.clientIp, route);
    if (now !== undefined) {
      apply(ctx, route, now);
      return undefined;
    }
    const pending =
      tracing === undefined
        ? rateLimiting.limit(ctx.identity, ctx.clientIp, route)
        : tracing.wrap(ctx, 'gateway.rate_limit', spanAttributes, () =>
            rateLimiting.limit(ctx.identity, ctx.clientIp, route),
          );
    return pending.then((outcome) => apply(ctx, route, outcome));
  };
}
