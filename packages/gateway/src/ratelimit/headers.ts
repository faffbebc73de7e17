import type { RateLimitDecision } from './types.ts';

/**
 * The IETF rate-limit headers (draft-ietf-httpapi-ratelimit-headers, the
 * structured-field form), on every answer, allowed or not:
 *
 *   RateLimit-Policy: "free";q=600;w=60
 *   RateLimit: "free";r=599;t=1
 *   Retry-After: 7                       (only when refused)
 *
 * `q` requests per `w` seconds; `r` requests left now, `t` seconds until the
 * full quota is back. The policy name is a structured-field string: quoted,
 * `"` and `\` escaped, anything outside printable ASCII replaced by `_` (names
 * come from config, but a header must never be malformed).
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const name = sfString(decision.policy.name);
  const window = Math.max(1, Math.ceil(decision.policy.windowSeconds));
  const headers: Record<string, string> = {
    'RateLimit-Policy': `${name};q=${decision.limit};w=${window}`,
    RateLimit: `${name};r=${Math.max(0, decision.remaining)};t=${decision.resetSeconds}`,
  };
  if (!decision.allowed) headers['Retry-After'] = String(Math.max(1, decision.retryAfterSeconds));
  return headers;
}

/** RFC 9651 sf-string: printable ASCII (0x20–0x7E) in quotes, with `\` and `"` escaped. */
function sfString(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, '_').replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
