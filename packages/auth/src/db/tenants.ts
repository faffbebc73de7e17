import type { Queryable } from '@gatehouse/kit/service';

export type Role = 'owner' | 'admin' | 'member';
export const ROLES: readonly Role[] = ['owner', 'admin', 'member'];

export interface MembershipRow {
  tenantId: string;
  tenantName: string;
  role: Role;
}

export interface MemberRow {
  userId: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: Date;
}

export async function insertTenant(q: Queryable, id: string, name: string): Promise<void> {
  await q.query('insert into tenants (id, name) values ($1, $2)', [id, name]);
}

export async function findTenant(
  q: Queryable,
  id: string,
): Promise<{ id: string; name: string } | undefined> {
  const r = await q.query<{ id: string; name: string }>('select id, name from tenants where id = $1', [id]);
  return r.rows[0];
}

export async function insertMembership(
  q: Queryable,
  tenantId: string,
  userId: string,
  role: Role,
): Promise<boolean> {
  const r = await q.query(
    'insert into memberships (tenant_id, user_id, role) values ($1, $2, $3) on conflict do nothing',
    [tenantId, userId, role],
  );
  return r.rowCount === 1;
}

export async function findRole(q: Queryable, tenantId: string, userId: string): Promise<Role | undefined> {
  const r = await q.query<{ role: Role }>(
    'select role from memberships where tenant_id = $1 and user_id = $2',
    [tenantId, userId],
  );
  return r.rows[0]?.role;
}

export async function listMembershipsOfUser(q: Queryable, userId: string): Promise<MembershipRow[]> {
  const r = await q.query<MembershipRow>(
    `select m.tenant_id as "tenantId", t.name as "tenantName", m.role
       from memberships m join tenants t on t.id = m.tenant_id
      where m.user_id = $1 order by m.created_at, t.name`,
    [userId],
  );
  return r.rows;
}

export async function listMembers(q: Queryable, tenantId: string): Promise<MemberRow[]> {
  const r = await q.query<MemberRow>(
    `select u.id as "userId", u.email, u.name, m.role, m.created_at as "joinedAt"
       from memberships m join users u on u.id = m.user_id
      where m.tenant_id = $1 order by m.created_at, u.email`,
    [tenantId],
  );
  return r.rows;
}

export async function countOwners(q: Queryable, tenantId: string): Promise<number> {
  const r = await q.query<{ n: number }>(
    `select count(*)::int as n from memberships where tenant_id = $1 and role = 'owner'`,
    [tenantId],
  );
  return r.rows[0]?.n ?? 0;
}

export async function updateRole(q: Queryable, tenantId: string, userId: string, role: Role): Promise<void> {
  await q.query('update memberships set role = $3 where tenant_id = $1 and user_id = $2', [
    tenantId,
    userId,
    role,
  ]);
}

export async function deleteMembership(q: Queryable, tenantId: string, userId: string): Promise<void> {
  await q.query('delete from memberships where tenant_id = $1 and user_id = $2', [tenantId, userId]);
}

/** Serialises owner changes of one tenant (Postgres row lock; PGlite runs one statement at a time). */
export async function lockTenant(q: Queryable, tenantId: string): Promise<void> {
  await q.query('select id from tenants where id = $1 for update', [tenantId]);
}
