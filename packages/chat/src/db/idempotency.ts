import type { Queryable } from '@gatehouse/kit/service';

/**
 * Claims an Idempotency-Key for a send, in the send's transaction. If another
 * transaction holds the same key, Postgres makes this wait for it, so two
 * concurrent retries never both insert. Returns undefined when claimed, or
 * the earlier claim.
 */
export async function claimKey(
  q: Queryable,
  k: { tenantId: string; userId: string; key: string; fingerprint: string; messageId: string },
): Promise<{ message_id: string; fingerprint: string } | undefined> {
  const inserted = await q.query(
    `insert into chat_idempotency (tenant_id, user_id, key, fingerprint, message_id)
     values ($1, $2, $3, $4, $5) on conflict do nothing`,
    [k.tenantId, k.userId, k.key, k.fingerprint, k.messageId],
  );
  if (inserted.rowCount === 1) return undefined;
  const r = await q.query<{ message_id: string; fingerprint: string }>(
    'select message_id, fingerprint from chat_idempotency where tenant_id = $1 and user_id = $2 and key = $3',
    [k.tenantId, k.userId, k.key],
  );
  return r.rows[0];
}

/** Keys are kept a day: long enough for any client's retries. */
export async function pruneKeys(q: Queryable): Promise<number> {
  const r = await q.query("delete from chat_idempotency where created_at < now() - interval '1 day'");
  return r.rowCount;
}
