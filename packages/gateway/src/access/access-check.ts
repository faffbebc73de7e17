import type { Logger, ProblemError } from '@gatehouse/kit';
import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import { ruleMatches } from '../routing/route-table.ts';
import type { RequestTracing } from '../tracing.ts';
import type { AccessChecks, AccessDecision } from './access-checks.ts';
import { type AccessRule, type AccessRuleTable, actionFor } from './rules.ts';

export function accessDenied(): ProblemError {
  return gatewayError('GW_ACCESS_DENIED', 'You may not do this to this resource.');
}

export interface AccessCheckDeps {
  readonly checks: AccessChecks;
  readonly rules: AccessRuleTable;
  readonly logger: Logger;
  readonly tracing?: RequestTracing | undefined;
}

/**
 * Stage 12, after the role rules. Every access rule of the route that matches
 * the request asks its checker "may this user do this action to this
 * resource"; all must say yes. The resource id is the path segment at the
 * rule's `:param`, exactly as routed (the canonical path, not decoded again).
 * Failure mode: closed — any denial, timeout, error, malformed answer or open
 * breaker ends the request with 403 GW_ACCESS_DENIED, logged as a security
 * event with its reason. Public requests carry no identity and are not checked.
 */
export function createAccessCheck(deps: AccessCheckDeps) {
  const { checks, rules: table, logger, tracing } = deps;
  // Most routes have no access rules: decided without a promise.
  return function accessCheck(ctx: RequestContext): Promise<void> | undefined {
    const route = ctx.route;
    if (route === undefined || ctx.isPublic) return undefined;
    const rules = table.for(route);
    if (rules.length === 0) return undefined;
    const method = ctx.method;
    const segments = ctx.segments;
    const matching = rules.filter((rule) => ruleMatches(rule, method, segments));
    if (matching.length === 0) return undefined;
    if (tracing === undefined) return decide(ctx, matching);
    return tracing.wrap(ctx, 'gateway.access_check', { 'gatehouse.access.rules': matching.length }, () =>
      decide(ctx, matching),
    );
  };

  async function decide(ctx: RequestContext, matching: readonly AccessRule[]): Promise<void> {
    const method = ctx.method;
    const segments = ctx.segments;
    const identity = ctx.identity;
    const decisions = await Promise.all(
      matching.map(async (rule): Promise<[AccessRule, string, AccessDecision]> => {
        const action = rule.action ?? actionFor(method);
        const resourceId = segments[rule.paramIndex];
        // Authentication runs first, and a matched rule has its segment; closed all the same.
        if (identity === undefined || resourceId === undefined) {
          return [
            rule,
            action,
            { allowed: false, reason: 'error', detail: 'no identity or resource id', source: 'checker' },
          ];
        }
        const decision = await checks.check(
          {
            checker: rule.checker,
            tenantId: identity.tid,
            userId: identity.sub,
            resourceType: rule.resourceType,
            resourceId,
            action,
          },
          ctx.requestId,
        );
        return [rule, action, decision];
      }),
    );
    for (const [rule, action, decision] of decisions) {
      if (decision.allowed) continue;
      logger.warn(
        {
          event: 'access_denied',
          reason: decision.reason,
          detail: decision.detail,
          source: decision.source,
          tenantId: identity?.tid,
          userId: identity?.sub,
          resourceType: rule.resourceType,
          resourceId: segments[rule.paramIndex],
          action,
          checker: rule.checker,
          rule: rule.source,
          route: ctx.route?.id,
          requestId: ctx.requestId,
          traceId: ctx.traceId,
        },
        'access denied',
      );
      ctx.failure = `access_denied:${decision.reason}`;
      throw accessDenied();
    }
  }
}
