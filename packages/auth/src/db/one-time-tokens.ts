import type { Queryable } from '@gatehouse/kit/service';

export type OneTimePurpose = 'password_reset' | 'email_verify';

export async function insertOneTimeToken(
  q: Queryable,
  row: { tokenHash: string; purpose: OneTimePurpose; userId: string; expiresAt: Date },
): Promise<void> {
  await q.query(
    'insert into one_time_tokens (token_hash, purpose, user_id, expires_at) values ($1, $2, $3, $4)',
    [row.tokenHash, row.purpose, row.userId, row.expiresAt],
  );
}

/** Marks the token used and returns its user, in one statement: a token works once, even under a race. */
export async function consumeOneTimeToken(
  q: Queryable,
  tokenHash: string,
  purpose: OneTimePurpose,
): Promise<string | undefined> {
  const r = await q.query<{ userId: string }>(
    `update one_time_tokens set used_at = now()
      where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
      returning user_id as "userId"`,
    [tokenHash, purpose],
  );
  return r.rows[0]?.userId;
}

export async function invalidateOneTimeTokens(
  q: Queryable,
  userId: string,
  purpose: OneTimePurpose,
): Promise<void> {
  await q.query(
    'update one_time_tokens set used_at = now() where user_id = $1 and purpose = $2 and used_at is null',
    [userId, purpose],
  );
}

/** The email of the user an open token belongs to, without using the token. */
export async function peekOneTimeTokenEmail(
  q: Queryable,
  tokenHash: string,
  purpose: OneTimePurpose,
): Promise<string | undefined> {
  const r = await q.query<{ email: string }>(
    `select u.email from one_time_tokens t join users u on u.id = t.user_id
      where t.token_hash = $1 and t.purpose = $2 and t.used_at is null and t.expires_at > now()`,
    [tokenHash, purpose],
  );
  return r.rows[0]?.email;
}
