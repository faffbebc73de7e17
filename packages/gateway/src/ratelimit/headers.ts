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
  const policy = policyHeader(decision.policy, decision.limit);
  const headers: Record<string, string> = {
    'RateLimit-Policy': policy.header,
    RateLimit: `${policy.name};r=${Math.max(0, decision.remaining)};t=${decision.resetSeconds}`,
  };
  if (!decision.allowed) headers['Retry-After'] = String(Math.max(1, decision.retryAfterSeconds));
  return headers;
}

type Policy = RateLimitDecision['policy'];

// Policies are config objects that live as long as the process: their header text is made once
// per policy (and limit), not on every request.
const policyHeaders = new WeakMap<Policy, { name: string; limit: number; header: string }>();

function policyHeader(policy: Policy, limit: number): { name: string; header: string } {
  let cached = policyHeaders.get(policy);
  if (cached === undefined || cached.limit !== limit) {
    const name = sfString(policy.name);
    const window = Math.max(1, Math.ceil(policy.windowSeconds));
    cached = { name, limit, header: `${name};q=${limit};w=${window}` };
    policyHeaders.set(policy, cached);
  }
  return cached;
}

/** RFC 9651 sf-string: printable ASCII (0x20–0x7E) in quotes, with `\` and `"` escaped. */
function sfString(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, '_').replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
