import type { Queryable } from '@gatehouse/kit/service';

export type IdempotencyClaim =
  | { readonly kind: 'new' }
  | { readonly kind: 'replay'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'running' };

/**
 * Claims a key for a request: the first claim wins and runs; a later one with
 * the same request hash gets the stored answer (or waits its turn while the
 * first still runs), with another hash it is refused.
 */
export async function claimIdempotencyKey(
  q: Queryable,
  scope: string,
  key: string,
  hash: string,
): Promise<IdempotencyClaim> {
  const inserted = await q.query(
    `insert into idempotency_keys (scope, key, request_hash, status) values ($1, $2, $3, 'running')
     on conflict (scope, key) do nothing`,
    [scope, key, hash],
  );
  if (inserted.rowCount === 1) return { kind: 'new' };
  const r = await q.query<{
    request_hash: string;
    status: string;
    response_status: number | null;
    response_body: unknown;
  }>(
    'select request_hash, status, response_status, response_body from idempotency_keys where scope = $1 and key = $2',
    [scope, key],
  );
  const row = r.rows[0];
  if (row === undefined) return { kind: 'running' };
  if (row.request_hash !== hash) return { kind: 'mismatch' };
  if (row.status !== 'done') return { kind: 'running' };
  const body = typeof row.response_body === 'string' ? JSON.parse(row.response_body) : row.response_body;
  return { kind: 'replay', status: row.response_status ?? 200, body };
}

export async function completeIdempotencyKey(
  q: Queryable,
  scope: string,
  key: string,
  status: number,
  body: unknown,
): Promise<void> {
  await q.query(
    `update idempotency_keys set status = 'done', response_status = $3, response_body = $4 where scope = $1 and key = $2`,
    [scope, key, status, JSON.stringify(body ?? null)],
  );
}

/** A request that failed unexpectedly gives its key back, so the client's retry runs again. */
export async function releaseIdempotencyKey(q: Queryable, scope: string, key: string): Promise<void> {
  await q.query(`delete from idempotency_keys where scope = $1 and key = $2 and status = 'running'`, [
    scope,
    key,
  ]);
}

export async function pruneIdempotencyKeys(q: Queryable, olderThan: number): Promise<number> {
  const r = await q.query('delete from idempotency_keys where created_at < $1', [new Date(olderThan)]);
  return r.rowCount;
}
