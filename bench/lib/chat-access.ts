import { randomBytes } from 'node:crypto';
import { type AssertedIdentity, createAssertionSigner } from '../../packages/kit/src/assertion.ts';

/**
 * How the chat bench reaches a service as a user, in one of two ways:
 *
 * - `direct`: straight to a service (chat, or identity during set-up). The
 *   bench stands in for the gateway: it signs the gateway's identity
 *   assertion (`x-gateway-assertion`, bound to method, path and request id)
 *   with the shared secret, for the user's real id, tenant and roles from the
 *   token the identity service issued.
 * - `gateway`: through the gateway, with the user's access token as a bearer
 *   token (on the WebSocket upgrade too), or with a single-use ticket from
 *   POST /api/ws-ticket for the socket.
 *
 * A spec is plain data, so a worker thread can rebuild the same access.
 */
export type Mode = 'direct' | 'gateway';
export type WsAuth = 'header' | 'ticket';

/** A user as the bench holds it: ids and roles from the access token, and the token. */
export interface BenchChatUser {
  readonly sub: string;
  readonly tid: string;
  readonly roles: readonly string[];
  readonly jti: string;
  readonly accessToken: string;
}

export interface AccessSpec {
  readonly mode: Mode;
  /** Base URLs (http://host:port) in turn: client i uses origins[i % origins.length]. */
  readonly origins: readonly string[];
  /** The gateway assertion secret (direct mode). */
  readonly secret?: string;
  readonly wsAuth: WsAuth;
}

export interface Access {
  readonly spec: AccessSpec;
  origin(i: number): string;
  /** Headers that make a request this user's (`path` may carry a query; it is not signed). */
  headers(user: BenchChatUser, method: string, path: string): Record<string, string>;
}

export const TICKET_PATH = '/api/ws-ticket';

export function accessFrom(spec: AccessSpec): Access {
  if (spec.origins.length === 0) throw new Error('accessFrom: no origins');
  const origin = (i: number) => spec.origins[i % spec.origins.length] as string;
  if (spec.mode === 'gateway') {
    return {
      spec,
      origin,
      headers: (user) => ({ authorization: `Bearer ${user.accessToken}` }),
    };
  }
  if (spec.secret === undefined) throw new Error('accessFrom: direct access needs the assertion secret');
  const sign = createAssertionSigner([{ kid: 'gw1', secret: spec.secret }]);
  // The signer caches the encoded identity per object: one object per user.
  const identities = new WeakMap<BenchChatUser, AssertedIdentity>();
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  let serial = 0;
  return {
    spec,
    origin,
    headers(user, method, path) {
      let identity = identities.get(user);
      if (identity === undefined) {
        identity = { sub: user.sub, tid: user.tid, roles: user.roles, jti: user.jti };
        identities.set(user, identity);
      }
      const requestId = `${prefix}-${++serial}`;
      return {
        'x-request-id': requestId,
        'x-gateway-assertion': sign(identity, {
          method,
          path: path.split('?')[0] as string,
          requestId,
        }),
      };
    },
  };
}
