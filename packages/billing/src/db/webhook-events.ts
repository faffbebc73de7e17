import type { Queryable } from '@gatehouse/kit/service';

/** Stores an event's id once; false when it was already there (a duplicate delivery or a replay). */
export async function insertWebhookEvent(
  q: Queryable,
  event: { provider: string; id: string; type: string; createdAt: number },
): Promise<boolean> {
  const r = await q.query(
    `insert into webhook_events (provider, event_id, type, created_at) values ($1, $2, $3, $4)
     on conflict (provider, event_id) do nothing`,
    [event.provider, event.id, event.type, new Date(event.createdAt)],
  );
  return r.rowCount === 1;
}

export async function setWebhookOutcome(
  q: Queryable,
  provider: string,
  id: string,
  outcome: string,
): Promise<void> {
  await q.query('update webhook_events set outcome = $3 where provider = $1 and event_id = $2', [
    provider,
    id,
    outcome,
  ]);
}

export async function countWebhookEvents(q: Queryable, provider: string): Promise<number> {
  const r = await q.query<{ n: number }>(
    'select count(*)::int as n from webhook_events where provider = $1',
    [provider],
  );
  return r.rows[0]?.n ?? 0;
}
