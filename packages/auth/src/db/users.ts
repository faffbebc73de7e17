import type { Queryable } from '@gatehouse/kit/service';

export type UserStatus = 'active' | 'disabled';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  status: UserStatus;
  emailVerified: boolean;
  tokensValidAfter: number;
  createdAt: Date;
}

const COLUMNS = `id, email, name, password_hash as "passwordHash", status,
  email_verified_at is not null as "emailVerified", tokens_valid_after::float8 as "tokensValidAfter",
  created_at as "createdAt"`;

export async function findUserByEmail(q: Queryable, emailNormalized: string): Promise<UserRow | undefined> {
  const r = await q.query<UserRow>(`select ${COLUMNS} from users where email_normalized = $1`, [
    emailNormalized,
  ]);
  return r.rows[0];
}

export async function findUserById(q: Queryable, id: string): Promise<UserRow | undefined> {
  const r = await q.query<UserRow>(`select ${COLUMNS} from users where id = $1`, [id]);
  return r.rows[0];
}

export async function insertUser(
  q: Queryable,
  user: { id: string; email: string; emailNormalized: string; name: string; passwordHash: string },
): Promise<boolean> {
  const r = await q.query(
    `insert into users (id, email, email_normalized, name, password_hash) values ($1, $2, $3, $4, $5)
     on conflict (email_normalized) do nothing`,
    [user.id, user.email, user.emailNormalized, user.name, user.passwordHash],
  );
  return r.rowCount === 1;
}

export async function updatePasswordHash(q: Queryable, id: string, hash: string): Promise<void> {
  await q.query('update users set password_hash = $2, updated_at = now() where id = $1', [id, hash]);
}

export async function markEmailVerified(q: Queryable, id: string): Promise<void> {
  await q.query('update users set email_verified_at = coalesce(email_verified_at, now()) where id = $1', [
    id,
  ]);
}

export async function setUserStatus(q: Queryable, id: string, status: UserStatus): Promise<boolean> {
  const r = await q.query('update users set status = $2, updated_at = now() where id = $1', [id, status]);
  return r.rowCount === 1;
}

/** Raises the user's not-before watermark (never lowers it). */
export async function raiseTokensValidAfter(q: Queryable, id: string, notBefore: number): Promise<void> {
  await q.query('update users set tokens_valid_after = greatest(tokens_valid_after, $2) where id = $1', [
    id,
    notBefore,
  ]);
}
