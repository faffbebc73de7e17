import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import { type RouteTable, relativeSegments, ruleMatches } from '../routing/route-table.ts';

/**
 * Stage 6. Finds the route (longest prefix on whole segments) and its policy.
 * No route: 404. A request is public only when a public rule of its route
 * matches; everything else needs a valid token.
 */
export function createRouteMatch(table: RouteTable) {
  return function routeMatch(ctx: RequestContext): void {
    const route = table.match(ctx.path);
    if (route === undefined) throw gatewayError('GW_ROUTE_NOT_FOUND', 'No route matches this path.');
    ctx.route = route;
    // The route's own headers (a page's CSP) go on every answer from here on, refusals included.
    Object.assign(ctx.responseHeaders, route.headers);
    const segments = relativeSegments(route, ctx.path);
    ctx.segments = segments;
    const forwarded = route.stripPrefix ? `/${segments.join('/')}` : ctx.path;
    ctx.upstreamPath = route.upstream.basePath === '' ? forwarded : `${route.upstream.basePath}${forwarded}`;
    const method = ctx.method;
    ctx.isPublic = route.publicRules.some((rule) => ruleMatches(rule, method, segments));
  };
}
