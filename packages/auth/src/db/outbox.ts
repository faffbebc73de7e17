import type { Queryable } from '@gatehouse/kit/service';

export async function insertOutbox(
  q: Queryable,
  mail: { to: string; subject: string; body: string },
): Promise<number> {
  const r = await q.query<{ id: number }>(
    'insert into outbox (recipient, subject, body) values ($1, $2, $3) returning id::float8 as id',
    [mail.to, mail.subject, mail.body],
  );
  return r.rows[0]?.id ?? 0;
}

export interface PendingMail {
  readonly id: number;
  readonly recipient: string;
  readonly subject: string;
  readonly body: string;
  readonly attempts: number;
}

/** Unsent mail, oldest first; `skip locked` lets several replicas relay without sending twice. */
export async function claimUnsent(q: Queryable, limit: number, maxAttempts: number): Promise<PendingMail[]> {
  const r = await q.query<PendingMail>(
    `select id::float8 as id, recipient, subject, body, attempts from outbox
      where sent_at is null and attempts < $1 order by id limit $2 for update skip locked`,
    [maxAttempts, limit],
  );
  return r.rows;
}

export async function markSent(q: Queryable, id: number): Promise<void> {
  await q.query('update outbox set sent_at = now(), last_error = null where id = $1', [id]);
}

export async function markFailed(q: Queryable, id: number, error: string): Promise<void> {
  await q.query('update outbox set attempts = attempts + 1, last_error = $2 where id = $1', [
    id,
    error.slice(0, 500),
  ]);
}
