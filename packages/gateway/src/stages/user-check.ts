import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import type { UserDirectory } from '../identity/user-directory.ts';
import { INVALID_TOKEN_CHALLENGE, INVALID_TOKEN_DETAIL } from './authenticate.ts';

/**
 * Stage 9. Confirms the token's user with the identity service (cached): a
 * disabled or unknown user, or one no longer a member of the token's tenant,
 * is refused like an invalid token; the user's current roles replace the
 * token's for the rest of the pipeline (a demoted admin loses admin at once).
 * Identity service down and nothing cached: 503, never a guess.
 */
export function createUserCheck(directory: UserDirectory, onFailure?: (reason: string) => void) {
  return async function userCheck(ctx: RequestContext): Promise<void> {
    const identity = ctx.identity;
    if (identity === undefined) return;
    let record: Awaited<ReturnType<UserDirectory['lookup']>>;
    try {
      record = await directory.lookup(identity.sub, identity.tid);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'IDENTITY_UNAVAILABLE') throw err;
      ctx.failure = 'identity_unavailable';
      throw gatewayError('GW_IDENTITY_UNAVAILABLE', 'Your account cannot be checked right now.', {
        headers: { 'retry-after': '5' },
      });
    }
    if (record.status !== 'active' || !record.member) {
      const reason = record.status !== 'active' ? `user_${record.status}` : 'not_a_member';
      ctx.failure = reason;
      onFailure?.(reason);
      throw gatewayError('GW_INVALID_TOKEN', INVALID_TOKEN_DETAIL, {
        headers: { 'www-authenticate': INVALID_TOKEN_CHALLENGE },
      });
    }
    if (!sameRoles(record.roles, identity.roles)) ctx.identity = { ...identity, roles: record.roles };
  };
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((role) => b.includes(role));
}
