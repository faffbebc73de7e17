/**
 * The identity service's answer about one user in one tenant, at
 * `GET /internal/users/:id?tenant=:tenantId` (a platform-service call). The
 * gateway asks it after a token verified (still active, still a member,
 * current roles); other services may ask it too.
 */
export interface InternalUserRecord {
  readonly id: string;
  readonly status: 'active' | 'disabled';
  /** The tenant asked about, or null when none was. */
  readonly tenantId: string | null;
  readonly member: boolean;
  /** The user's roles in that tenant; empty when not a member. */
  readonly roles: readonly string[];
}

/** The route as the identity service declares it. */
export const INTERNAL_USER_ROUTE = '/internal/users/:id';

/** The path for one user (the assertion binds it, without the query). */
export function internalUserPath(userId: string): string {
  return `/internal/users/${encodeURIComponent(userId)}`;
}
