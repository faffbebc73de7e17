import { defineErrors, standardErrors } from '@gatehouse/kit/service';

/** Every code the identity service answers with. `docs/errors.md` lists them (a test checks it). */
export const authErrors = defineErrors({
  ...standardErrors('AUTH'),
  AUTH_INVALID_CREDENTIALS: { status: 401, title: 'The email or password is not correct' },
  AUTH_TOO_MANY_ATTEMPTS: { status: 429, title: 'Too many failed attempts from this client' },
  AUTH_EMAIL_TAKEN: { status: 409, title: 'An account with this email already exists' },
  AUTH_WEAK_PASSWORD: { status: 400, title: 'The password does not meet the password policy' },
  AUTH_INVALID_REFRESH_TOKEN: { status: 401, title: 'The refresh token is not valid' },
  AUTH_REFRESH_REUSED: { status: 401, title: 'The refresh token was already used; the session is revoked' },
  AUTH_CSRF: { status: 403, title: 'Cookie-authenticated request from an origin that is not allowed' },
  AUTH_INVALID_TOKEN: { status: 400, title: 'The link token is not valid, used or expired' },
  AUTH_USER_NOT_FOUND: { status: 404, title: 'No such user' },
  AUTH_TENANT_NOT_FOUND: { status: 404, title: 'No such tenant, or you are not a member' },
  AUTH_MEMBER_NOT_FOUND: { status: 404, title: 'No such member in this tenant' },
  AUTH_INVITATION_NOT_FOUND: { status: 404, title: 'No such invitation' },
  AUTH_INVITATION_EMAIL_MISMATCH: { status: 403, title: 'The invitation is for another email address' },
  AUTH_ALREADY_MEMBER: { status: 409, title: 'The user is already a member of this tenant' },
  AUTH_LAST_OWNER: { status: 409, title: 'A tenant must keep at least one owner' },
  AUTH_ROLE_FORBIDDEN: { status: 403, title: 'Your role does not allow this' },
  AUTH_TENANT_MISMATCH: { status: 403, title: 'The path names another tenant than the one you act for' },
  AUTH_SEATS_EXCEEDED: { status: 409, title: "The tenant's plan has no free seat" },
  AUTH_WRONG_PASSWORD: { status: 403, title: 'The current password is not correct' },
});

export type AuthErrorCode = keyof typeof authErrors.table;
export const authError = authErrors.create;
