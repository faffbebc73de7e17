import type { Queryable } from '@gatehouse/kit/service';
import type { Role } from './tenants.ts';

export interface InvitationRow {
  id: string;
  tenantId: string;
  email: string;
  role: Role;
  expiresAt: Date;
  createdAt: Date;
}

const COLUMNS = `id, tenant_id as "tenantId", email_normalized as email, role, expires_at as "expiresAt",
  created_at as "createdAt"`;

export async function insertInvitation(
  q: Queryable,
  row: {
    id: string;
    tenantId: string;
    email: string;
    role: Role;
    tokenHash: string;
    invitedBy: string;
    expiresAt: Date;
  },
): Promise<void> {
  await q.query(
    `insert into invitations (id, tenant_id, email_normalized, role, token_hash, invited_by, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [row.id, row.tenantId, row.email, row.role, row.tokenHash, row.invitedBy, row.expiresAt],
  );
}

export async function listOpenInvitations(q: Queryable, tenantId: string): Promise<InvitationRow[]> {
  const r = await q.query<InvitationRow>(
    `select ${COLUMNS} from invitations
      where tenant_id = $1 and accepted_at is null and revoked_at is null and expires_at > now()
      order by created_at`,
    [tenantId],
  );
  return r.rows;
}

export async function revokeInvitation(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  const r = await q.query(
    `update invitations set revoked_at = now()
      where tenant_id = $1 and id = $2 and accepted_at is null and revoked_at is null`,
    [tenantId, id],
  );
  return r.rowCount === 1;
}

export async function findOpenInvitationByHash(
  q: Queryable,
  tokenHash: string,
): Promise<InvitationRow | undefined> {
  const r = await q.query<InvitationRow>(
    `select ${COLUMNS} from invitations
      where token_hash = $1 and accepted_at is null and revoked_at is null and expires_at > now() for update`,
    [tokenHash],
  );
  return r.rows[0];
}

export async function markInvitationAccepted(q: Queryable, id: string): Promise<void> {
  await q.query('update invitations set accepted_at = now() where id = $1', [id]);
}
