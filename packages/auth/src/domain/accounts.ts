import { randomUUID } from 'node:crypto';
import type { InternalUserRecord, Queryable } from '@gatehouse/kit/service';
import {
  consumeOneTimeToken,
  insertOneTimeToken,
  invalidateOneTimeTokens,
  peekOneTimeTokenEmail,
} from '../db/one-time-tokens.ts';
import {
  insertMembership,
  insertTenant,
  listMembershipsOfUser,
  type MembershipRow,
  type Role,
} from '../db/tenants.ts';
import {
  findUserByEmail,
  findUserById,
  insertUser,
  markEmailVerified,
  setUserStatus,
  type UserRow,
  type UserStatus,
  updatePasswordHash,
} from '../db/users.ts';
import { authError } from '../errors.ts';
import { passwordProblem } from './passwords.ts';
import { withRevocations } from './revocation-feed.ts';
import { type AuthServices, audit, type RequestMeta, sendMail } from './services.ts';
import { issueSession, normalizeEmail, revokeEverySession, type TokenPair } from './sessions.ts';
import { accountKey, recordSuccess } from './throttle.ts';
import { hashToken, newOpaqueToken } from './tokens.ts';

const LINK_TTL_MS = 60 * 60 * 1000;

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
  status: UserStatus;
  createdAt: string;
}

export function publicUser(user: UserRow): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    emailVerified: user.emailVerified,
    status: user.status,
    createdAt: new Date(user.createdAt).toISOString(),
  };
}

export function checkPassword(s: AuthServices, password: string, email: string | undefined): void {
  const problem = passwordProblem(password, s.config.passwords, { email });
  if (problem !== undefined) throw authError('AUTH_WEAK_PASSWORD', `password ${problem}`);
}

async function sendVerification(
  s: AuthServices,
  q: Queryable,
  user: { id: string; email: string },
): Promise<void> {
  await mailOneTimeLink(s, q, user, {
    purpose: 'email_verify',
    prefix: 'ghv',
    subject: 'Verify your email address',
    text: 'Confirm your address',
    page: 'verify-email',
  });
}

export interface Registration extends TokenPair {
  user: PublicUser;
  tenant: { id: string; name: string; role: Role };
}

export async function register(
  s: AuthServices,
  input: { email: string; password: string; name: string; tenantName: string },
  meta: RequestMeta,
): Promise<Registration> {
  const email = input.email.trim();
  checkPassword(s, input.password, email);
  const passwordHash = await s.hasher.hash(input.password);
  return s.db.transaction(async (tx) => {
    const userId = randomUUID();
    const tenantId = randomUUID();
    const created = await insertUser(tx, {
      id: userId,
      email,
      emailNormalized: normalizeEmail(email),
      name: input.name.trim(),
      passwordHash,
    });
    if (!created) throw authError('AUTH_EMAIL_TAKEN');
    await insertTenant(tx, tenantId, input.tenantName.trim());
    await insertMembership(tx, tenantId, userId, 'owner');
    await audit(s, tx, {
      event: 'user_registered',
      userId,
      tenantId,
      ip: meta.ip,
      requestId: meta.requestId,
    });
    await sendVerification(s, tx, { id: userId, email });
    const user = (await findUserById(tx, userId)) as UserRow;
    const pair = await issueSession(s, tx, { userId, tenantId, role: 'owner', tokensValidAfter: 0 });
    return {
      ...pair,
      user: publicUser(user),
      tenant: { id: tenantId, name: input.tenantName.trim(), role: 'owner' },
    };
  });
}

export async function me(
  s: AuthServices,
  userId: string,
  tenantId: string,
): Promise<{ user: PublicUser; tenantId: string; roles: string[]; memberships: MembershipRow[] }> {
  const user = await findUserById(s.db, userId);
  if (user === undefined) throw authError('AUTH_USER_NOT_FOUND');
  const memberships = await listMembershipsOfUser(s.db, userId);
  const active = memberships.find((m) => m.tenantId === tenantId);
  return { user: publicUser(user), tenantId, roles: active === undefined ? [] : [active.role], memberships };
}

/** A password change ends every session (the caller signs in again). */
export async function changePassword(
  s: AuthServices,
  userId: string,
  current: string,
  next: string,
  meta: RequestMeta,
): Promise<void> {
  const user = await findUserById(s.db, userId);
  if (user === undefined) throw authError('AUTH_USER_NOT_FOUND');
  if (!(await s.hasher.verify(user.passwordHash, current))) {
    await audit(s, s.db, { event: 'password_change_failed', userId, ip: meta.ip, requestId: meta.requestId });
    throw authError('AUTH_WRONG_PASSWORD');
  }
  checkPassword(s, next, user.email);
  const hash = await s.hasher.hash(next);
  await withRevocations(s.db, s.feed, async (tx, revoke) => {
    await updatePasswordHash(tx, userId, hash);
    await revokeEverySession(tx, revoke, userId, 'password_change');
    await audit(s, tx, { event: 'password_changed', userId, ip: meta.ip, requestId: meta.requestId });
  });
}

/** Always the same answer, whether the email is known or not. */
export async function requestPasswordReset(s: AuthServices, email: string, meta: RequestMeta): Promise<void> {
  const user = await findUserByEmail(s.db, normalizeEmail(email));
  if (user === undefined || user.status !== 'active') {
    await audit(s, s.db, { event: 'password_reset_unknown', ip: meta.ip, requestId: meta.requestId });
    return;
  }
  await s.db.transaction(async (tx) => {
    await mailOneTimeLink(s, tx, user, {
      purpose: 'password_reset',
      prefix: 'ghp',
      subject: 'Reset your password',
      text: 'Choose a new password',
      page: 'reset-password',
    });
    await audit(s, tx, {
      event: 'password_reset_requested',
      userId: user.id,
      ip: meta.ip,
      requestId: meta.requestId,
    });
  });
}

/** A completed reset revokes every session of the user. */
export async function confirmPasswordReset(
  s: AuthServices,
  token: string,
  password: string,
  meta: RequestMeta,
): Promise<void> {
  const tokenHash = hashToken(token);
  // Check the policy first (needs the email), without using the token up.
  const email = await peekOneTimeTokenEmail(s.db, tokenHash, 'password_reset');
  if (email === undefined) throw authError('AUTH_INVALID_TOKEN');
  checkPassword(s, password, email);
  const hash = await s.hasher.hash(password);
  await withRevocations(s.db, s.feed, async (tx, revoke) => {
    const userId = await consumeOneTimeToken(tx, tokenHash, 'password_reset');
    if (userId === undefined) throw authError('AUTH_INVALID_TOKEN');
    await updatePasswordHash(tx, userId, hash);
    // Whoever could receive the mail controls the address: it is verified now.
    await markEmailVerified(tx, userId);
    await revokeEverySession(tx, revoke, userId, 'password_reset');
    await recordSuccess(tx, accountKey(normalizeEmail(email)));
    await audit(s, tx, { event: 'password_reset_completed', userId, ip: meta.ip, requestId: meta.requestId });
  });
}

export async function verifyEmail(s: AuthServices, token: string, meta: RequestMeta): Promise<void> {
  await s.db.transaction(async (tx) => {
    const userId = await consumeOneTimeToken(tx, hashToken(token), 'email_verify');
    if (userId === undefined) throw authError('AUTH_INVALID_TOKEN');
    await markEmailVerified(tx, userId);
    await audit(s, tx, { event: 'email_verified', userId, ip: meta.ip, requestId: meta.requestId });
  });
}

export async function resendVerification(s: AuthServices, userId: string): Promise<void> {
  const user = await findUserById(s.db, userId);
  if (user === undefined) throw authError('AUTH_USER_NOT_FOUND');
  if (user.emailVerified) return;
  await s.db.transaction((tx) => sendVerification(s, tx, user));
}

/** For the gateway: a user's status and role in one tenant. */
export async function internalUser(
  s: AuthServices,
  userId: string,
  tenantId: string | undefined,
): Promise<InternalUserRecord> {
  const user = await findUserById(s.db, userId);
  if (user === undefined) throw authError('AUTH_USER_NOT_FOUND');
  const memberships = await listMembershipsOfUser(s.db, userId);
  const m = tenantId === undefined ? undefined : memberships.find((x) => x.tenantId === tenantId);
  return {
    id: user.id,
    status: user.status,
    tenantId: tenantId ?? null,
    member: m !== undefined,
    roles: m === undefined ? [] : [m.role],
  };
}

/** Disabling a user ends every session at once. */
export async function setStatus(
  s: AuthServices,
  userId: string,
  status: UserStatus,
  meta: RequestMeta & { caller: string },
): Promise<void> {
  await withRevocations(s.db, s.feed, async (tx, revoke) => {
    if (!(await setUserStatus(tx, userId, status))) throw authError('AUTH_USER_NOT_FOUND');
    if (status === 'disabled') await revokeEverySession(tx, revoke, userId, 'disabled');
    await audit(s, tx, {
      event: status === 'disabled' ? 'user_disabled' : 'user_enabled',
      userId,
      ip: meta.ip,
      requestId: meta.requestId,
      detail: { by: meta.caller },
    });
  });
}

/**
 * A single-use link by mail: earlier links of the same purpose stop working,
 * the token is stored hashed and lives LINK_TTL_MS, and the mail goes to the
 * outbox in the caller's transaction.
 */
async function mailOneTimeLink(
  s: AuthServices,
  q: Queryable,
  user: { id: string; email: string },
  link: {
    purpose: 'email_verify' | 'password_reset';
    prefix: string;
    subject: string;
    text: string;
    page: string;
  },
): Promise<void> {
  const token = newOpaqueToken(link.prefix);
  await invalidateOneTimeTokens(q, user.id, link.purpose);
  await insertOneTimeToken(q, {
    tokenHash: hashToken(token),
    purpose: link.purpose,
    userId: user.id,
    expiresAt: new Date(Date.now() + LINK_TTL_MS),
  });
  await sendMail(s, q, {
    to: user.email,
    subject: link.subject,
    body: `${link.text}: ${s.config.publicUrl}/${link.page}#token=${token}\ntoken: ${token}`,
  });
}
