import { randomUUID } from 'node:crypto';
import type { Queryable } from '@gatehouse/kit/service';
import {
  findAccessExp,
  findRefreshTokenForUpdate,
  insertRefreshToken,
  markRetried,
  markUsed,
  revokeAllOfUser,
  revokeFamily,
} from '../db/refresh-tokens.ts';
import { findRole, listMembershipsOfUser, type Role } from '../db/tenants.ts';
import { findUserByEmail, findUserById, raiseTokensValidAfter, updatePasswordHash } from '../db/users.ts';
import { authError } from '../errors.ts';
import { nextSecond, type RevocationEvent, withRevocations } from './revocation-feed.ts';
import { type AuthServices, audit, type RequestMeta } from './services.ts';
import { accountKey, clientKey, recordFailure, recordSuccess, throttleState } from './throttle.ts';
import { hashToken, newOpaqueToken } from './tokens.ts';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}

/** Issues an access token and a refresh token of a (new or continued) family, in the caller's transaction. */
export async function issueSession(
  s: AuthServices,
  q: Queryable,
  session: {
    userId: string;
    tenantId: string;
    role: Role;
    tokensValidAfter: number;
    familyId?: string | undefined;
    parentId?: string | undefined;
  },
): Promise<TokenPair> {
  const access = await s.tokens.issue(
    { sub: session.userId, tid: session.tenantId, roles: [session.role] },
    session.tokensValidAfter,
  );
  const refreshToken = newOpaqueToken('ghr');
  await insertRefreshToken(q, {
    id: randomUUID(),
    familyId: session.familyId ?? randomUUID(),
    parentId: session.parentId ?? null,
    userId: session.userId,
    tenantId: session.tenantId,
    tokenHash: hashToken(refreshToken),
    accessJti: access.jti,
    accessExp: access.exp,
    expiresAt: new Date(Date.now() + s.config.tokens.refreshTtlSeconds * 1000),
  });
  return { accessToken: access.token, refreshToken, tokenType: 'Bearer', expiresIn: access.exp - access.iat };
}

/**
 * Sign-in. Unknown email, wrong password, disabled or locked account: the same
 * answer, and the same work (one argon2 verification, the same writes), so
 * neither the answer nor its time tells them apart.
 */
export async function login(
  s: AuthServices,
  email: string,
  password: string,
  meta: RequestMeta,
): Promise<TokenPair> {
  const normalized = normalizeEmail(email);
  const acct = accountKey(normalized);
  const client = clientKey(meta.ip);
  const state = await throttleState(s.db, acct, client);
  if (state.clientRetryAfter !== undefined) {
    throw authError('AUTH_TOO_MANY_ATTEMPTS', 'try again later', {
      headers: { 'retry-after': String(state.clientRetryAfter) },
    });
  }
  const user = await findUserByEmail(s.db, normalized);
  const passwordOk = await s.hasher.verify(user?.passwordHash, password);
  // The same queries for an unknown user (a nil id matches nothing): no timing difference.
  const memberships = await listMembershipsOfUser(s.db, user?.id ?? '00000000-0000-0000-0000-000000000000');
  const first = memberships[0];
  const ok =
    passwordOk &&
    user !== undefined &&
    user.status === 'active' &&
    !state.accountLocked &&
    first !== undefined;
  if (!ok || user === undefined || first === undefined) {
    await s.db.transaction(async (tx) => {
      const account = await recordFailure(tx, acct, s.config.throttle.accountMaxFailures, s.config.throttle);
      await recordFailure(tx, client, s.config.throttle.clientMaxFailures, s.config.throttle, false);
      await audit(s, tx, {
        event: account.locked ? 'login_locked' : 'login_failed',
        userId: user?.id,
        ip: meta.ip,
        requestId: meta.requestId,
        detail: { failures: account.failures },
      });
    });
    throw authError('AUTH_INVALID_CREDENTIALS');
  }
  if (s.hasher.needsRehash(user.passwordHash)) {
    await updatePasswordHash(s.db, user.id, await s.hasher.hash(password));
  }
  return s.db.transaction(async (tx) => {
    await recordSuccess(tx, acct);
    await audit(s, tx, {
      event: 'login_succeeded',
      userId: user.id,
      tenantId: first.tenantId,
      ip: meta.ip,
      requestId: meta.requestId,
    });
    return issueSession(s, tx, {
      userId: user.id,
      tenantId: first.tenantId,
      role: first.role,
      tokensValidAfter: user.tokensValidAfter,
    });
  });
}

/**
 * Refresh-token rotation. Each token works once; a second use within the
 * grace period (a client retrying after a lost answer) gets one more pair;
 * any other reuse means the token was stolen: the whole family is revoked,
 * with the access tokens it issued.
 */
export async function refresh(s: AuthServices, refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
  type Outcome = { error: 'AUTH_INVALID_REFRESH_TOKEN' | 'AUTH_REFRESH_REUSED' } | { pair: TokenPair };
  const outcome = await withRevocations<Outcome>(s.db, s.feed, async (tx, revoke) => {
    const row = await findRefreshTokenForUpdate(tx, hashToken(refreshToken));
    if (row === undefined || row.revokedAt !== null || row.expiresAt.getTime() <= Date.now()) {
      return { error: 'AUTH_INVALID_REFRESH_TOKEN' as const };
    }
    if (row.usedAt !== null) {
      const withinGrace =
        Date.now() - row.usedAt.getTime() <= s.config.tokens.refreshReuseGraceSeconds * 1000;
      if (!withinGrace || row.retried) {
        const live = await revokeFamily(tx, row.familyId, 'reuse');
        revoke(...jtiEvents(live));
        await audit(s, tx, {
          event: 'refresh_reuse',
          userId: row.userId,
          tenantId: row.tenantId,
          ip: meta.ip,
          requestId: meta.requestId,
          detail: { familyId: row.familyId },
        });
        return { error: 'AUTH_REFRESH_REUSED' as const };
      }
      await markRetried(tx, row.id);
    } else {
      await markUsed(tx, row.id);
    }
    const user = await findUserById(tx, row.userId);
    const role = await findRole(tx, row.tenantId, row.userId);
    if (user === undefined || user.status !== 'active' || role === undefined) {
      revoke(...jtiEvents(await revokeFamily(tx, row.familyId, 'no_longer_allowed')));
      return { error: 'AUTH_INVALID_REFRESH_TOKEN' as const };
    }
    const pair = await issueSession(s, tx, {
      userId: user.id,
      tenantId: row.tenantId,
      role,
      tokensValidAfter: user.tokensValidAfter,
      familyId: row.familyId,
      parentId: row.id,
    });
    return { pair };
  });
  if (!('pair' in outcome)) throw authError(outcome.error);
  return outcome.pair;
}

function jtiEvents(live: readonly { jti: string; exp: number }[]): RevocationEvent[] {
  const now = Math.floor(Date.now() / 1000);
  return live.filter((a) => a.exp > now).map((a) => ({ type: 'jti' as const, jti: a.jti, exp: a.exp }));
}

/** Ends one session: the refresh token's family, and the access token that made the call if known. */
export async function logout(
  s: AuthServices,
  input: { refreshToken?: string | undefined; accessJti?: string | undefined; userId?: string | undefined },
  meta: RequestMeta,
): Promise<void> {
  await withRevocations(s.db, s.feed, async (tx, revoke) => {
    let userId = input.userId;
    if (input.refreshToken !== undefined) {
      const row = await findRefreshTokenForUpdate(tx, hashToken(input.refreshToken));
      if (row !== undefined) {
        revoke(...jtiEvents(await revokeFamily(tx, row.familyId, 'logout')));
        userId ??= row.userId;
      }
    }
    if (input.accessJti !== undefined) {
      const exp =
        (await findAccessExp(tx, input.accessJti)) ??
        Math.floor(Date.now() / 1000) + s.config.tokens.accessTtlSeconds;
      revoke({ type: 'jti', jti: input.accessJti, exp });
    }
    if (userId !== undefined)
      await audit(s, tx, { event: 'logout', userId, ip: meta.ip, requestId: meta.requestId });
  });
}

/** Ends every session of a user: all refresh tokens, and every access token issued before now. */
export async function revokeEverySession(
  tx: Queryable,
  revoke: (...events: RevocationEvent[]) => void,
  userId: string,
  reason: string,
): Promise<void> {
  const notBefore = nextSecond();
  await revokeAllOfUser(tx, userId, reason);
  await raiseTokensValidAfter(tx, userId, notBefore);
  revoke({ type: 'user', sub: userId, notBefore });
}

export async function logoutAll(s: AuthServices, userId: string, meta: RequestMeta): Promise<void> {
  await withRevocations(s.db, s.feed, async (tx, revoke) => {
    await revokeEverySession(tx, revoke, userId, 'logout_all');
    await audit(s, tx, { event: 'logout_all', userId, ip: meta.ip, requestId: meta.requestId });
  });
}
