import { randomUUID } from 'node:crypto';
import type { AssertedIdentity } from '@gatehouse/kit/service';
import {
  findOpenInvitationByHash,
  type InvitationRow,
  insertInvitation,
  listOpenInvitations,
  markInvitationAccepted,
  revokeInvitation,
} from '../db/invitations.ts';
import { revokeAllOfMember } from '../db/refresh-tokens.ts';
import {
  countOwners,
  deleteMembership,
  findRole,
  findTenant,
  insertMembership,
  insertTenant,
  listMembers,
  listMembershipsOfUser,
  lockTenant,
  type MemberRow,
  type MembershipRow,
  type Role,
  updateRole,
} from '../db/tenants.ts';
import { findUserById, raiseTokensValidAfter } from '../db/users.ts';
import { authError } from '../errors.ts';
import { nextSecond, withRevocations } from './revocation-feed.ts';
import { requireFreeSeat } from './seats.ts';
import { type AuthServices, audit, type RequestMeta, sendMail } from './services.ts';
import { issueSession, normalizeEmail, type TokenPair } from './sessions.ts';
import { hashToken, newOpaqueToken } from './tokens.ts';

const INVITATION_TTL_MS = 7 * 86_400 * 1000;

/**
 * Tenant management acts for the tenant of the caller's token (`tid` of the
 * gateway assertion) only, and takes the caller's role from the database, not
 * from the token: a path naming another tenant is refused before anything is
 * read, and a role removed a moment ago no longer counts.
 */
async function actingRole(
  s: AuthServices,
  actor: AssertedIdentity,
  tenantId: string,
  need: readonly Role[],
): Promise<Role> {
  if (tenantId !== actor.tid) throw authError('AUTH_TENANT_MISMATCH');
  const role = await findRole(s.db, tenantId, actor.sub);
  if (role === undefined) throw authError('AUTH_TENANT_MISMATCH');
  if (!need.includes(role)) throw authError('AUTH_ROLE_FORBIDDEN');
  return role;
}

const MANAGERS: readonly Role[] = ['owner', 'admin'];

export async function members(
  s: AuthServices,
  actor: AssertedIdentity,
  tenantId: string,
): Promise<MemberRow[]> {
  await actingRole(s, actor, tenantId, MANAGERS);
  return listMembers(s.db, tenantId);
}

export async function changeRole(
  s: AuthServices,
  actor: AssertedIdentity,
  tenantId: string,
  userId: string,
  role: Role,
  meta: RequestMeta,
): Promise<void> {
  const mine = await actingRole(s, actor, tenantId, MANAGERS);
  await withRevocations(s.db, s.feed, async (tx, revoke) => {
    await lockTenant(tx, tenantId);
    const current = await findRole(tx, tenantId, userId);
    if (current === undefined) throw authError('AUTH_MEMBER_NOT_FOUND');
    if (mine !== 'owner' && (current === 'owner' || role === 'owner')) throw authError('AUTH_ROLE_FORBIDDEN');
    if (current === role) return;
    if (current === 'owner' && (await countOwners(tx, tenantId)) <= 1) throw authError('AUTH_LAST_OWNER');
    await updateRole(tx, tenantId, userId, role);
    // Tokens carrying the old role stop working; the next refresh carries the new one.
    const notBefore = nextSecond();
    await raiseTokensValidAfter(tx, userId, notBefore);
    revoke({ type: 'user', sub: userId, notBefore });
    await audit(s, tx, {
      event: 'role_changed',
      userId,
      tenantId,
      ip: meta.ip,
      requestId: meta.requestId,
      detail: { by: actor.sub, from: current, to: role },
    });
  });
}

/** Admins remove members and admins; only owners remove owners; anyone may leave; the last owner may not. */
export async function removeMember(
  s: AuthServices,
  actor: AssertedIdentity,
  tenantId: string,
  userId: string,
  meta: RequestMeta,
): Promise<void> {
  const self = userId === actor.sub;
  const mine = await actingRole(s, actor, tenantId, self ? ['owner', 'admin', 'member'] : MANAGERS);
  await withRevocations(s.db, s.feed, async (tx, revoke) => {
    await lockTenant(tx, tenantId);
    const current = await findRole(tx, tenantId, userId);
    if (current === undefined) throw authError('AUTH_MEMBER_NOT_FOUND');
    if (current === 'owner' && !self && mine !== 'owner') throw authError('AUTH_ROLE_FORBIDDEN');
    if (current === 'owner' && (await countOwners(tx, tenantId)) <= 1) throw authError('AUTH_LAST_OWNER');
    await deleteMembership(tx, tenantId, userId);
    await revokeAllOfMember(tx, userId, tenantId, 'member_removed');
    const notBefore = nextSecond();
    await raiseTokensValidAfter(tx, userId, notBefore);
    revoke({ type: 'user', sub: userId, notBefore });
    await audit(s, tx, {
      event: self ? 'member_left' : 'member_removed',
      userId,
      tenantId,
      ip: meta.ip,
      requestId: meta.requestId,
      detail: { by: actor.sub, role: current },
    });
  });
}

export async function invite(
  s: AuthServices,
  actor: AssertedIdentity,
  tenantId: string,
  email: string,
  role: Role,
  meta: RequestMeta,
): Promise<InvitationRow> {
  const mine = await actingRole(s, actor, tenantId, MANAGERS);
  if (role === 'owner' && mine !== 'owner') throw authError('AUTH_ROLE_FORBIDDEN');
  const tenant = await findTenant(s.db, tenantId);
  if (tenant === undefined) throw authError('AUTH_TENANT_NOT_FOUND');
  const token = newOpaqueToken('ghi');
  const id = randomUUID();
  const normalized = normalizeEmail(email);
  await s.db.transaction(async (tx) => {
    // One invitation at a time per tenant, so two at once cannot both take the last seat.
    await lockTenant(tx, tenantId);
    await requireFreeSeat(s, tx, tenantId, 'invite');
    await insertInvitation(tx, {
      id,
      tenantId,
      email: normalized,
      role,
      tokenHash: hashToken(token),
      invitedBy: actor.sub,
      expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
    });
    await sendMail(s, tx, {
      to: email.trim(),
      subject: `You are invited to ${tenant.name}`,
      body: `Join ${tenant.name} as ${role}: ${s.config.publicUrl}/accept-invitation#token=${token}\ntoken: ${token}`,
    });
    await audit(s, tx, {
      event: 'member_invited',
      tenantId,
      userId: actor.sub,
      ip: meta.ip,
      requestId: meta.requestId,
      detail: { email: normalized, role },
    });
  });
  const open = await listOpenInvitations(s.db, tenantId);
  return open.find((i) => i.id === id) as InvitationRow;
}

export async function invitations(
  s: AuthServices,
  actor: AssertedIdentity,
  tenantId: string,
): Promise<InvitationRow[]> {
  await actingRole(s, actor, tenantId, MANAGERS);
  return listOpenInvitations(s.db, tenantId);
}

export async function cancelInvitation(
  s: AuthServices,
  actor: AssertedIdentity,
  tenantId: string,
  invitationId: string,
): Promise<void> {
  await actingRole(s, actor, tenantId, MANAGERS);
  if (!(await revokeInvitation(s.db, tenantId, invitationId))) throw authError('AUTH_INVITATION_NOT_FOUND');
}

/** The signed-in user accepts an invitation sent to their (verified) address. */
export async function acceptInvitation(
  s: AuthServices,
  actor: AssertedIdentity,
  token: string,
  meta: RequestMeta,
): Promise<{ tenantId: string; role: Role }> {
  return s.db.transaction(async (tx) => {
    const invitation = await findOpenInvitationByHash(tx, hashToken(token));
    if (invitation === undefined) throw authError('AUTH_INVALID_TOKEN');
    const user = await findUserById(tx, actor.sub);
    if (user === undefined) throw authError('AUTH_USER_NOT_FOUND');
    if (normalizeEmail(user.email) !== invitation.email) throw authError('AUTH_INVITATION_EMAIL_MISMATCH');
    await lockTenant(tx, invitation.tenantId);
    await requireFreeSeat(s, tx, invitation.tenantId, 'accept');
    if (!(await insertMembership(tx, invitation.tenantId, user.id, invitation.role))) {
      throw authError('AUTH_ALREADY_MEMBER');
    }
    await markInvitationAccepted(tx, invitation.id);
    await audit(s, tx, {
      event: 'invitation_accepted',
      userId: user.id,
      tenantId: invitation.tenantId,
      ip: meta.ip,
      requestId: meta.requestId,
      detail: { role: invitation.role },
    });
    return { tenantId: invitation.tenantId, role: invitation.role };
  });
}

export async function myTenants(s: AuthServices, actor: AssertedIdentity): Promise<MembershipRow[]> {
  return listMembershipsOfUser(s.db, actor.sub);
}

export async function createTenant(
  s: AuthServices,
  actor: AssertedIdentity,
  name: string,
  meta: RequestMeta,
): Promise<{ id: string; name: string; role: Role }> {
  const id = randomUUID();
  await s.db.transaction(async (tx) => {
    await insertTenant(tx, id, name.trim());
    await insertMembership(tx, id, actor.sub, 'owner');
    await audit(s, tx, {
      event: 'tenant_created',
      userId: actor.sub,
      tenantId: id,
      ip: meta.ip,
      requestId: meta.requestId,
    });
  });
  return { id, name: name.trim(), role: 'owner' };
}

/** A new session (token pair) acting for another tenant the user belongs to. */
export async function switchTenant(
  s: AuthServices,
  actor: AssertedIdentity,
  tenantId: string,
  meta: RequestMeta,
): Promise<TokenPair> {
  return s.db.transaction(async (tx) => {
    const role = await findRole(tx, tenantId, actor.sub);
    const user = await findUserById(tx, actor.sub);
    if (role === undefined || user === undefined || user.status !== 'active')
      throw authError('AUTH_TENANT_NOT_FOUND');
    await audit(s, tx, {
      event: 'tenant_switched',
      userId: actor.sub,
      tenantId,
      ip: meta.ip,
      requestId: meta.requestId,
      detail: { from: actor.tid },
    });
    return issueSession(s, tx, { userId: user.id, tenantId, role, tokensValidAfter: user.tokensValidAfter });
  });
}
