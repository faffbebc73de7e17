import type { Queryable } from '@gatehouse/kit/service';

export interface ThrottleRow {
  failures: number;
  windowStartedAt: Date;
  lockedUntil: Date | null;
}

export async function findThrottles(
  q: Queryable,
  keys: readonly string[],
): Promise<Map<string, ThrottleRow>> {
  const r = await q.query<ThrottleRow & { key: string }>(
    `select key, failures, window_started_at as "windowStartedAt", locked_until as "lockedUntil"
       from throttles where key = any($1::text[])`,
    [keys],
  );
  return new Map(r.rows.map((row) => [row.key, row]));
}

export async function saveThrottle(q: Queryable, key: string, row: ThrottleRow): Promise<void> {
  await q.query(
    `insert into throttles (key, failures, window_started_at, locked_until) values ($1, $2, $3, $4)
     on conflict (key) do update set failures = $2, window_started_at = $3, locked_until = $4`,
    [key, row.failures, row.windowStartedAt, row.lockedUntil],
  );
}

export async function clearThrottle(q: Queryable, key: string): Promise<void> {
  await q.query('delete from throttles where key = $1', [key]);
}

export async function pruneThrottles(q: Queryable): Promise<void> {
  await q.query(
    `delete from throttles where (locked_until is null or locked_until < now())
       and window_started_at < now() - interval '1 day'`,
  );
}
