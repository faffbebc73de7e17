import type { GatewayConfig } from '../config/schema.ts';
import type { RequestContext } from '../context.ts';

/** Defaults for every answer; an upstream's own value wins on proxied responses. */
export function securityHeaderDefaults(
  config: GatewayConfig['securityHeaders'],
): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
  };
  if (config.hsts) headers['strict-transport-security'] = 'max-age=31536000; includeSubDomains';
  for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = value;
  return Object.freeze(headers);
}

/** Stage 2. Puts the security headers on the answer, whoever writes it (refusals included). */
export function createSecurityHeaders(config: GatewayConfig['securityHeaders']) {
  const defaults = securityHeaderDefaults(config);
  return function securityHeaders(ctx: RequestContext): void {
    Object.assign(ctx.responseHeaders, defaults);
  };
}
