/**
 * What the gateway knows of revoked tokens: single tokens by `jti` (kept until
 * the token would have expired anyway), and per-user and per-tenant
 * watermarks (`notBefore`: every token issued before it is revoked, e.g.
 * after logout-all, a password change or a member's removal).
 */

import type { RevocationEvent } from '@gatehouse/kit';

// The event and its parser are the identity service's wire contract, defined once in kit.
export { parseRevocationEvent as parseEvent, type RevocationEvent } from '@gatehouse/kit';

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
