import type { RequestContext } from '../context.ts';
import type { RevocationList } from '../revocation/list.ts';
import { invalidTokenError } from './authenticate.ts';

/**
 * Stage 8. A verified token may still be revoked (logout, logout-all,
 * password change, role change, removal from the tenant, a disabled user):
 * checked on every request, also when the token's signature was served from
 * the cache. A revoked token gets the same 401 as any invalid token.
 */
export function createRevocationCheck(list: RevocationList, onFailure?: (reason: string) => void) {
  return function revocationCheck(ctx: RequestContext): void {
    const identity = ctx.identity;
    if (identity === undefined || !list.isRevoked(identity)) return;
    ctx.failure = 'revoked';
    onFailure?.('revoked');
    throw invalidTokenError();
  };
}
