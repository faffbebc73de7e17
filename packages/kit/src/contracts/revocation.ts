/**
 * Revocation events: written by the identity service (its feed at
 * `GET /internal/revocations` and the Redis channel below), applied by every
 * gateway instance and by services holding long-lived connections.
 *
 * - `jti`: one access token, until it would have expired anyway (`exp`);
 * - `user`: every token of the user issued before `notBefore` (logout-all,
 *   password change, disabled account);
 * - `tenant`: every token for the tenant issued before `notBefore`.
 */
export type RevocationEvent =
  | { readonly type: 'jti'; readonly jti: string; readonly exp: number }
  | { readonly type: 'user'; readonly sub: string; readonly notBefore: number }
  | { readonly type: 'tenant'; readonly tid: string; readonly notBefore: number };

/** The Redis pub/sub channel revocation events are published on, one JSON event per message. */
export const REVOCATION_CHANNEL = 'gatehouse:revocations';

/** The identity service's feed path (long poll: `?after=CURSOR&wait=MS`). */
export const REVOCATION_FEED_PATH = '/internal/revocations';

/** Parses one event from the feed or the Redis channel; undefined for anything malformed. */
export function parseRevocationEvent(value: unknown): RevocationEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  const id = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 256;
  const time = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (e.type === 'jti' && id(e.jti) && time(e.exp))
    return { type: 'jti', jti: e.jti as string, exp: e.exp as number };
  if (e.type === 'user' && id(e.sub) && time(e.notBefore)) {
    return { type: 'user', sub: e.sub as string, notBefore: e.notBefore as number };
  }
  if (e.type === 'tenant' && id(e.tid) && time(e.notBefore)) {
    return { type: 'tenant', tid: e.tid as string, notBefore: e.notBefore as number };
  }
  return undefined;
}
