import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import { ruleMatches } from '../routing/route-table.ts';

export const INSUFFICIENT_SCOPE_CHALLENGE = 'Bearer realm="gatehouse", error="insufficient_scope"';

/**
 * Stage 11. Role rules of the route: every rule that matches the request must
 * be satisfied by one of the caller's roles (rules add up; they never widen
 * access). Public requests carry no identity and are not subject to roles.
 */
export function authorize(ctx: RequestContext): void {
  const route = ctx.route;
  const identity = ctx.identity;
  if (route === undefined || ctx.isPublic || route.roleRules.length === 0) return;
  const roles = identity?.roles ?? [];
  for (const rule of route.roleRules) {
    if (!ruleMatches(rule, ctx.method, ctx.segments)) continue;
    if (!rule.roles.some((role) => roles.includes(role))) {
      ctx.failure = `role_required:${rule.source}`;
      throw gatewayError('GW_FORBIDDEN', 'Your roles do not allow this request.', {
        headers: { 'www-authenticate': INSUFFICIENT_SCOPE_CHALLENGE },
      });
    }
  }
}
