import type { Queryable, RevocationEvent } from '@gatehouse/kit/service';

export type { RevocationEvent } from '@gatehouse/kit/service';

interface Row {
  seq: number;
  kind: 'jti' | 'user' | 'tenant';
  subject: string;
  at: number;
}

export function toEvent(row: Pick<Row, 'kind' | 'subject' | 'at'>): RevocationEvent {
  if (row.kind === 'jti') return { type: 'jti', jti: row.subject, exp: row.at };
  if (row.kind === 'user') return { type: 'user', sub: row.subject, notBefore: row.at };
  return { type: 'tenant', tid: row.subject, notBefore: row.at };
}

function toRow(event: RevocationEvent): [string, string, number] {
  if (event.type === 'jti') return ['jti', event.jti, event.exp];
  if (event.type === 'user') return ['user', event.sub, event.notBefore];
  return ['tenant', event.tid, event.notBefore];
}

export async function insertRevocations(q: Queryable, events: readonly RevocationEvent[]): Promise<void> {
  for (const event of events) {
    await q.query('insert into revocations (kind, subject, at) values ($1, $2, $3)', toRow(event));
  }
}

export async function readRevocations(
  q: Queryable,
  after: number,
  limit: number,
): Promise<{ events: RevocationEvent[]; cursor: number }> {
  const r = await q.query<Row>(
    `select seq::float8 as seq, kind, subject, at::float8 as at from revocations
      where seq > $1 order by seq limit $2`,
    [after, limit],
  );
  const last = r.rows[r.rows.length - 1];
  return { events: r.rows.map(toEvent), cursor: last === undefined ? after : last.seq };
}

/** Drops entries that can no longer matter: the tokens they revoke have expired anyway. */
export async function pruneRevocations(
  q: Queryable,
  nowSeconds: number,
  maxTokenLifetime: number,
): Promise<number> {
  const r = await q.query(
    `delete from revocations where (kind = 'jti' and at < $1) or (kind <> 'jti' and at + $2 < $1)`,
    [nowSeconds, maxTokenLifetime],
  );
  return r.rowCount;
}
