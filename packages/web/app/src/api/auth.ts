import { api, clearTokens, setTokens, type TokenPair } from './session.ts';

/** The identity service's routes the app uses (docs/authentication.md, /api/auth/docs). */

export type Role = 'owner' | 'admin' | 'member';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly emailVerified: boolean;
  readonly createdAt: string;
}

export interface Membership {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly role: Role;
}

export interface Me {
  readonly user: User;
  readonly tenantId: string;
  readonly roles: readonly Role[];
  readonly memberships: readonly Membership[];
}

export interface Member {
  readonly userId: string;
  readonly email: string;
  readonly name: string;
  readonly role: Role;
  readonly joinedAt: string;
}

export interface Invitation {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
  readonly expiresAt: string;
  readonly createdAt: string;
}

export async function signUp(input: {
  email: string;
  password: string;
  name: string;
  tenantName: string;
}): Promise<void> {
  setTokens(await api<TokenPair>('/api/auth/register', { method: 'POST', body: input }));
}

export async function signIn(email: string, password: string): Promise<void> {
  setTokens(await api<TokenPair>('/api/auth/login', { method: 'POST', body: { email, password } }));
}

/** Ends this device's session (the cookie's refresh family and this access token). */
export async function signOut(): Promise<void> {
  try {
    await api<void>('/api/auth/logout', { method: 'POST', body: {} });
  } finally {
    clearTokens('user');
  }
}

export async function signOutEverywhere(): Promise<void> {
  await api<void>('/api/auth/logout-all', { method: 'POST' });
  clearTokens('user');
}

export const me = () => api<Me>('/api/auth/me');

export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await api<void>('/api/auth/password/change', { method: 'POST', body: { currentPassword, newPassword } });
  // Every session ended, this one included.
  clearTokens('user');
}

export const requestPasswordReset = (email: string) =>
  api<void>('/api/auth/password-reset/request', { method: 'POST', body: { email } });

export const confirmPasswordReset = (token: string, newPassword: string) =>
  api<void>('/api/auth/password-reset/confirm', { method: 'POST', body: { token, newPassword } });

export const verifyEmail = (token: string) =>
  api<void>('/api/auth/email/verify', { method: 'POST', body: { token } });

export const resendVerification = () => api<void>('/api/auth/email/verification', { method: 'POST' });

export const createTenant = (name: string) =>
  api<Membership>('/api/auth/tenants', { method: 'POST', body: { name } });

export async function switchTenant(tenantId: string): Promise<void> {
  setTokens(await api<TokenPair>('/api/auth/switch-tenant', { method: 'POST', body: { tenantId } }), {
    type: 'refreshed',
  });
}

const tenantPath = (tenantId: string) => `/api/auth/tenants/${encodeURIComponent(tenantId)}`;

export const members = (tenantId: string) => api<Member[]>(`${tenantPath(tenantId)}/members`);

export const changeRole = (tenantId: string, userId: string, role: Role) =>
  api<void>(`${tenantPath(tenantId)}/members/${encodeURIComponent(userId)}`, {
    method: 'PATCH',
    body: { role },
  });

export const removeMember = (tenantId: string, userId: string) =>
  api<void>(`${tenantPath(tenantId)}/members/${encodeURIComponent(userId)}`, { method: 'DELETE' });

export const invitations = (tenantId: string) => api<Invitation[]>(`${tenantPath(tenantId)}/invitations`);

export const invite = (tenantId: string, email: string, role: Role) =>
  api<Invitation>(`${tenantPath(tenantId)}/invitations`, { method: 'POST', body: { email, role } });

export const revokeInvitation = (tenantId: string, invitationId: string) =>
  api<void>(`${tenantPath(tenantId)}/invitations/${encodeURIComponent(invitationId)}`, { method: 'DELETE' });

export const acceptInvitation = (token: string) =>
  api<{ tenantId: string; role: Role }>('/api/auth/invitations/accept', { method: 'POST', body: { token } });
