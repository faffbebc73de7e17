import type { Queryable } from '@gatehouse/kit/service';
import { toInt } from './rows.ts';

export async function addMessages(
  q: Queryable,
  tenantId: string,
  periodStart: number,
  count: number,
): Promise<number> {
  const r = await q.query<{ messages: string | number }>(
    `insert into usage_counters (tenant_id, period_start, messages) values ($1, $2, $3)
     on conflict (tenant_id, period_start) do update set messages = usage_counters.messages + $3
     returning messages`,
    [tenantId, new Date(periodStart), count],
  );
  return toInt(r.rows[0]?.messages ?? 0);
}

export async function messagesIn(q: Queryable, tenantId: string, periodStart: number): Promise<number> {
  const r = await q.query<{ messages: string | number }>(
    'select messages from usage_counters where tenant_id = $1 and period_start = $2',
    [tenantId, new Date(periodStart)],
  );
  return toInt(r.rows[0]?.messages ?? 0);
}
