/**
 * What the gateway knows of revoked tokens: single tokens by `jti` (kept until
 * the token would have expired anyway), and per-user and per-tenant
 * watermarks (`notBefore`: every token issued before it is revoked, e.g.
 * after logout-all, a password change or a member's removal).
 */

export type RevocationEvent =
  | { readonly type: 'jti'; readonly jti: string; readonly exp: number }
  | { readonly type: 'user'; readonly sub: string; readonly notBefore: number }
  | { readonly type: 'tenant'; readonly tid: string; readonly notBefore: number };

export interface TokenFacts {
  readonly jti: string;
  readonly sub: string;
  readonly tid: string;
  readonly iat: number;
}

export class RevocationList {
  readonly #jti = new Map<string, number>();
  readonly #users = new Map<string, number>();
  readonly #tenants = new Map<string, number>();
  readonly #maxLifetimeSeconds: number;

  /** Watermarks older than the longest token lifetime cannot revoke a live token and are dropped. */
  constructor(maxLifetimeSeconds: number) {
    this.#maxLifetimeSeconds = maxLifetimeSeconds;
  }

  apply(event: RevocationEvent): void {
    if (event.type === 'jti') {
      this.#jti.set(event.jti, Math.max(event.exp, this.#jti.get(event.jti) ?? 0));
    } else if (event.type === 'user') {
      this.#users.set(event.sub, Math.max(event.notBefore, this.#users.get(event.sub) ?? 0));
    } else {
      this.#tenants.set(event.tid, Math.max(event.notBefore, this.#tenants.get(event.tid) ?? 0));
    }
  }

  isRevoked(token: TokenFacts): boolean {
    if (this.#jti.has(token.jti)) return true;
    const user = this.#users.get(token.sub);
    if (user !== undefined && token.iat < user) return true;
    const tenant = this.#tenants.get(token.tid);
    return tenant !== undefined && token.iat < tenant;
  }

  /** Drops entries that can no longer match a live token; returns how many. */
  prune(nowSeconds = Math.floor(Date.now() / 1000)): number {
    let dropped = 0;
    for (const [jti, exp] of this.#jti) {
      if (exp < nowSeconds) {
        this.#jti.delete(jti);
        dropped++;
      }
    }
    const oldest = nowSeconds - this.#maxLifetimeSeconds;
    for (const map of [this.#users, this.#tenants]) {
      for (const [key, notBefore] of map) {
        if (notBefore < oldest) {
          map.delete(key);
          dropped++;
        }
      }
    }
    return dropped;
  }

  get size(): number {
    return this.#jti.size + this.#users.size + this.#tenants.size;
  }
}

/** Parses one event from the feed or the Redis channel; undefined for anything malformed. */
export function parseEvent(value: unknown): RevocationEvent | undefined {
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
