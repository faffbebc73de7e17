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
