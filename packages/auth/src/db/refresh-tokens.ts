import type { Queryable } from '@gatehouse/kit/service';

export interface RefreshTokenRow {
  id: string;
  familyId: string;
  userId: string;
  tenantId: string;
  accessJti: string;
  accessExp: number;
  expiresAt: Date;
  usedAt: Date | null;
  retried: boolean;
  revokedAt: Date | null;
}

export async function insertRefreshToken(
  q: Queryable,
  row: {
    id: string;
    familyId: string;
    parentId: string | null;
    userId: string;
    tenantId: string;
    tokenHash: string;
    accessJti: string;
    accessExp: number;
    expiresAt: Date;
  },
): Promise<void> {
  await q.query(
    `insert into refresh_tokens (id, family_id, parent_id, user_id, tenant_id, token_hash, access_jti, access_exp, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      row.id,
      row.familyId,
      row.parentId,
      row.userId,
      row.tenantId,
      row.tokenHash,
      row.accessJti,
      row.accessExp,
      row.expiresAt,
    ],
  );
}

/** Locks the row for the rest of the transaction so two refreshes of one token are decided one after the other. */
export async function findRefreshTokenForUpdate(
  q: Queryable,
  tokenHash: string,
): Promise<RefreshTokenRow | undefined> {
  const r = await q.query<RefreshTokenRow>(
    `select id, family_id as "familyId", user_id as "userId", tenant_id as "tenantId", access_jti as "accessJti",
            access_exp::float8 as "accessExp", expires_at as "expiresAt", used_at as "usedAt", retried,
            revoked_at as "revokedAt"
       from refresh_tokens where token_hash = $1 for update`,
    [tokenHash],
  );
  return r.rows[0];
}

export async function markUsed(q: Queryable, id: string): Promise<void> {
  await q.query('update refresh_tokens set used_at = now() where id = $1', [id]);
}

export async function markRetried(q: Queryable, id: string): Promise<void> {
  await q.query('update refresh_tokens set retried = true where id = $1', [id]);
}

export interface LiveAccess {
  jti: string;
  exp: number;
}

const RETURNING = `returning access_jti as jti, access_exp::float8 as exp`;

/** Revokes every token of a family; returns the access tokens they issued (for the jti denylist). */
export async function revokeFamily(q: Queryable, familyId: string, reason: string): Promise<LiveAccess[]> {
  const r = await q.query<LiveAccess>(
    `update refresh_tokens set revoked_at = coalesce(revoked_at, now()), revoked_reason = coalesce(revoked_reason, $2)
      where family_id = $1 ${RETURNING}`,
    [familyId, reason],
  );
  return r.rows;
}

export async function revokeAllOfUser(q: Queryable, userId: string, reason: string): Promise<LiveAccess[]> {
  const r = await q.query<LiveAccess>(
    `update refresh_tokens set revoked_at = now(), revoked_reason = $2
      where user_id = $1 and revoked_at is null ${RETURNING}`,
    [userId, reason],
  );
  return r.rows;
}

export async function revokeAllOfMember(
  q: Queryable,
  userId: string,
  tenantId: string,
  reason: string,
): Promise<LiveAccess[]> {
  const r = await q.query<LiveAccess>(
    `update refresh_tokens set revoked_at = now(), revoked_reason = $3
      where user_id = $1 and tenant_id = $2 and revoked_at is null ${RETURNING}`,
    [userId, tenantId, reason],
  );
  return r.rows;
}

export async function findAccessExp(q: Queryable, jti: string): Promise<number | undefined> {
  const r = await q.query<{ exp: number }>(
    'select access_exp::float8 as exp from refresh_tokens where access_jti = $1',
    [jti],
  );
  return r.rows[0]?.exp;
}

export async function pruneExpiredRefreshTokens(q: Queryable): Promise<number> {
  const r = await q.query(`delete from refresh_tokens where expires_at < now() - interval '1 day'`);
  return r.rowCount;
}
