import { createAccessCheck } from '../access/access-check.ts';
import type { Stage } from '../context.ts';
import { createAuthenticate } from './authenticate.ts';
import { authorize } from './authorize.ts';
import { createCors } from './cors.ts';
import type { StageDeps } from './deps.ts';
import { createIdentityFirewall } from './identity-firewall.ts';
import { createInjectIdentity } from './inject-identity.ts';
import { createProxy } from './proxy.ts';
import { createRateLimit } from './rate-limit.ts';
import { createRequestHygiene } from './request-hygiene.ts';
import { createRequestId } from './request-id.ts';
import { createRevocationCheck } from './revocation-check.ts';
import { createRouteMatch } from './route-match.ts';
import { createSecurityHeaders } from './security-headers.ts';
import { createUserCheck } from './user-check.ts';

/**
 * The gateway's pipeline: one ordered list, like Envoy's filter chain. Each
 * stage may throw a problem (the request ends with it), return DONE (it
 * answered), or pass. The proxy is the terminal stage.
 */
export function buildPipeline(deps: StageDeps): readonly Stage[] {
  return [
    createRequestId(deps.tracing), //          1. request id, trace context (the server span)
    createSecurityHeaders(deps.config.securityHeaders), // 2. security headers on every answer, refusals too
    createIdentityFirewall(deps), //           3. drop client identity/forwarding headers; client IP
    createRequestHygiene(deps.config.limits, deps.routes.largestBodyBytes), // 4. method, target, URL and body caps, path
    createCors(deps.config.cors), //           5. CORS; preflight answered before authentication
    createRouteMatch(deps.routes), //          6. route → upstream + policy (deny by default)
    createAuthenticate(deps), //               7. JWT (JWKS, static keys or HS256)
    createRevocationCheck(deps.revocations, deps.onFailure), // 8. revoked jti, user or tenant watermark
    createRateLimit(deps.rateLimiting, deps.metrics, deps.tracing), // 9. rate limit: verified identity, else client address
    ...(deps.users === undefined ? [] : [createUserCheck(deps.users, deps.onFailure, deps.tracing)]), // 10. user active, member, roles now
    authorize, //                              11. role rules
    createAccessCheck({
      checks: deps.access,
      rules: deps.accessRules,
      logger: deps.logger,
      tracing: deps.tracing,
    }), // 12. resource access checks (fail closed)
    createInjectIdentity(deps.sign), //        13. identity, assertion, request id, trace, x-forwarded-*
    createProxy(deps.upstreams, deps.metrics, deps.tracing), // 14. proxy: breaker, concurrency cap, retries (terminal)
  ];
}
