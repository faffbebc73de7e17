import { createAccessCheck } from '../access/access-check.ts';
import type { Stage } from '../context.ts';
import { createTicketEndpoint } from '../websocket/ticket-endpoint.ts';
import { createTicketRedeem } from '../websocket/ticket-redeem.ts';
import { createTunnel } from '../websocket/tunnel.ts';
import { createUpgradeGate } from '../websocket/upgrade-gate.ts';
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

export interface Pipelines {
  /** A plain request: the stages, then the gateway's own ticket endpoint or the HTTP proxy. */
  readonly request: readonly Stage[];
  /** A WebSocket upgrade: the same stages (with the handshake's own checks), then the tunnel. */
  readonly upgrade: readonly Stage[];
}

/**
 * The gateway's pipeline: one ordered list, like Envoy's filter chain. Each
 * stage may throw a problem (the request ends with it), return DONE (it
 * answered), or pass. The same stage objects run for a plain request and for
 * an upgrade handshake; only the terminal differs (the proxy or the tunnel),
 * and an upgrade passes two checks of its own (marked ⇡).
 */
export function buildPipelines(deps: StageDeps): Pipelines {
  const before = [
    createRequestId(deps.tracing), //          request id, trace context (the server span)
    createSecurityHeaders(deps.config.securityHeaders), // security headers on every answer, refusals too
    createIdentityFirewall(deps), //           drop client identity/forwarding headers; client IP
    createRequestHygiene(deps.config.limits, deps.routes.largestBodyBytes), // method, target, URL and body caps, path
    createCors(deps.config.cors), //           CORS; preflight answered before authentication
    createRouteMatch(deps.routes), //          route → upstream + policy (deny by default)
  ];
  const after = [
    createAuthenticate(deps), //               JWT (JWKS, static keys or HS256)
    createRevocationCheck(deps.revocations, deps.onFailure), // revoked jti, user or tenant watermark
    createRateLimit(deps.rateLimiting, deps.metrics, deps.tracing), // rate limit: verified identity, else client address
    ...(deps.users === undefined ? [] : [createUserCheck(deps.users, deps.onFailure, deps.tracing)]), // user active, member, roles now
    authorize, //                              role rules
    createAccessCheck({
      checks: deps.access,
      rules: deps.accessRules,
      logger: deps.logger,
      tracing: deps.tracing,
    }), // resource access checks (fail closed)
    createInjectIdentity(deps.sign), //        identity, assertion, request id, trace, x-forwarded-*
  ];
  return {
    request: [
      ...before,
      ...after,
      createTicketEndpoint(deps.routes.ticketRoute, deps.tickets, deps.logger), // POST ws-ticket: answered here
      createProxy(deps.upstreams, deps.metrics, deps.tracing), // terminal: breaker, concurrency cap, retries
    ],
    upgrade: [
      ...before,
      createUpgradeGate(deps.config.cors), // ⇡ route allows websocket; protocol websocket (never h2c); Origin
      createTicketRedeem(deps.tickets, deps.logger), // ⇡ ?ticket= → the access token it stands for
      ...after,
      createTunnel(deps.upstreams, deps.tunnels, deps.metrics), // terminal: caps, breaker, upstream 101, tunnel
    ],
  };
}
