import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import type { UserDirectory, UserRecord } from '../identity/user-directory.ts';
import type { Identity } from '../identity/verifier.ts';
import type { RequestTracing } from '../tracing.ts';
import { invalidTokenError } from './authenticate.ts';

/**
 * Stage 10. Confirms the token's user with the identity service (cached): a
 * disabled or unknown user, or one no longer a member of the token's tenant,
 * is refused like an invalid token; the user's current roles replace the
 * token's for the rest of the pipeline (a demoted admin loses admin at once).
 * Identity service down and nothing cached: 503, never a guess.
 */
export function createUserCheck(
  directory: UserDirectory,
  onFailure?: (reason: string) => void,
  tracing?: RequestTracing | undefined,
) {
  // The identity with current roles, kept per token identity and record: the assertion signer
  // caches its encoding per identity object, so a new object per request would undo that.
  const adjusted = new WeakMap<Identity, { record: UserRecord; identity: Identity }>();

  function apply(ctx: RequestContext, identity: Identity, record: UserRecord): void {
    if (record.status !== 'active' || !record.member) {
      const reason = record.status !== 'active' ? `user_${record.status}` : 'not_a_member';
      ctx.failure = reason;
      onFailure?.(reason);
      throw invalidTokenError();
    }
    if (sameRoles(record.roles, identity.roles)) return;
    let kept = adjusted.get(identity);
    if (kept?.record !== record) {
      kept = { record, identity: { ...identity, roles: record.roles } };
      adjusted.set(identity, kept);
    }
    ctx.identity = kept.identity;
  }

  return function userCheck(ctx: RequestContext): Promise<void> | undefined {
    const identity = ctx.identity;
    if (identity === undefined) return undefined;
    const cached = directory.cached(identity.sub, identity.tid);
    if (cached !== undefined) {
      apply(ctx, identity, cached);
      return undefined;
    }
    const lookup =
      tracing === undefined
        ? directory.lookup(identity.sub, identity.tid)
        : tracing.wrap(ctx, 'gateway.user_lookup', {}, () => directory.lookup(identity.sub, identity.tid));
    return lookup.then(
      (record) => apply(ctx, identity, record),
      (err: unknown) => {
        if ((err as { code?: unknown }).code !== 'IDENTITY_UNAVAILABLE') throw err;
        ctx.failure = 'identity_unavailable';
        throw gatewayError('GW_IDENTITY_UNAVAILABLE', 'Your account cannot be checked right now.', {
          headers: { 'retry-after': '5' },
        });
      },
    );
  };
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((role) => b.includes(role));
}
