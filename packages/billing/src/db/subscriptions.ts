import type { Queryable } from '@gatehouse/kit/service';
import type { PlanId } from '../domain/catalogue.ts';
import { nextDueAt, type Subscription } from '../domain/subscription.ts';
import { toDate, toInt, toMs, toMsOrNull } from './rows.ts';

interface Row {
  tenant_id: string;
  plan_id: PlanId;
  catalogue_version: number;
  status: Subscription['status'];
  period_start: Date;
  period_end: Date;
  cancel_at_period_end: boolean;
  pending_plan_id: PlanId | null;
  grace_ends_at: Date | null;
  trial_used: boolean;
  end_reason: Subscription['endReason'];
  version: string | number;
}

function fromRow(row: Row): Subscription {
  return {
    tenantId: row.tenant_id,
    planId: row.plan_id,
    catalogueVersion: row.catalogue_version,
    status: row.status,
    periodStart: toMs(row.period_start),
    periodEnd: toMs(row.period_end),
    cancelAtPeriodEnd: row.cancel_at_period_end,
    pendingPlanId: row.pending_plan_id,
    graceEndsAt: toMsOrNull(row.grace_ends_at),
    trialUsed: row.trial_used,
    endReason: row.end_reason,
    version: toInt(row.version),
  };
}

export async function findSubscription(q: Queryable, tenantId: string): Promise<Subscription | undefined> {
  const r = await q.query<Row>('select * from subscriptions where tenant_id = $1', [tenantId]);
  return r.rows[0] === undefined ? undefined : fromRow(r.rows[0]);
}

/**
 * Serialises every change of one tenant's billing (a transaction-scoped lock,
 * held until commit): two concurrent upgrades run one after the other, and
 * the second sees the first's result.
 */
export async function lockTenantBilling(q: Queryable, tenantId: string): Promise<void> {
  await q.query('select pg_advisory_xact_lock(hashtextextended($1, 17))', [tenantId]);
}

export async function saveSubscription(q: Queryable, sub: Subscription): Promise<void> {
  await q.query(
    `insert into subscriptions (tenant_id, plan_id, catalogue_version, status, period_start, period_end,
       cancel_at_period_end, pending_plan_id, grace_ends_at, trial_used, end_reason, version, next_due_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now())
     on conflict (tenant_id) do update set plan_id = $2, catalogue_version = $3, status = $4, period_start = $5,
       period_end = $6, cancel_at_period_end = $7, pending_plan_id = $8, grace_ends_at = $9, trial_used = $10,
       end_reason = $11, version = $12, next_due_at = $13, updated_at = now()`,
    [
      sub.tenantId,
      sub.planId,
      sub.catalogueVersion,
      sub.status,
      new Date(sub.periodStart),
      new Date(sub.periodEnd),
      sub.cancelAtPeriodEnd,
      sub.pendingPlanId,
      toDate(sub.graceEndsAt),
      sub.trialUsed,
      sub.endReason,
      sub.version,
      toDate(nextDueAt(sub)),
    ],
  );
}

/** Tenants whose subscription time has made something due, oldest first. */
export async function dueTenants(q: Queryable, now: number, limit: number): Promise<string[]> {
  const r = await q.query<{ tenant_id: string }>(
    'select tenant_id from subscriptions where next_due_at <= $1 order by next_due_at limit $2',
    [new Date(now), limit],
  );
  return r.rows.map((row) => row.tenant_id);
}

export async function findCustomer(
  q: Queryable,
  tenantId: string,
  provider: string,
): Promise<string | undefined> {
  const r = await q.query<{ customer_id: string }>(
    'select customer_id from customers where tenant_id = $1 and provider = $2',
    [tenantId, provider],
  );
  return r.rows[0]?.customer_id;
}

export async function saveCustomer(
  q: Queryable,
  tenantId: string,
  provider: string,
  customerId: string,
): Promise<void> {
  await q.query(
    'insert into customers (tenant_id, provider, customer_id) values ($1, $2, $3) on conflict do nothing',
    [tenantId, provider, customerId],
  );
}
