import type { Queryable } from '@gatehouse/kit/service';
import type { TenantEntitlements } from '../domain/entitlements.ts';

export async function saveEntitlement(q: Queryable, record: TenantEntitlements): Promise<void> {
  await q.query(
    `insert into entitlements (tenant_id, record, version, published, updated_at) values ($1, $2, $3, false, now())
     on conflict (tenant_id) do update set record = $2, version = $3, published = false, updated_at = now()
     where entitlements.version <= $3`,
    [record.tenantId, JSON.stringify(record), record.version],
  );
}

export async function markPublished(q: Queryable, tenantId: string, version: number): Promise<void> {
  await q.query('update entitlements set published = true where tenant_id = $1 and version = $2', [
    tenantId,
    version,
  ]);
}

/** Records the store has not confirmed (it was down), to publish again. */
export async function unpublishedEntitlements(q: Queryable, limit: number): Promise<TenantEntitlements[]> {
  const r = await q.query<{ record: TenantEntitlements | string }>(
    'select record from entitlements where not published order by updated_at limit $1',
    [limit],
  );
  return r.rows.map((row) => (typeof row.record === 'string' ? JSON.parse(row.record) : row.record));
}

export async function allEntitlements(
  q: Queryable,
  afterTenant: string,
  limit: number,
): Promise<TenantEntitlements[]> {
  const r = await q.query<{ record: TenantEntitlements | string }>(
    'select record from entitlements where tenant_id > $1 order by tenant_id limit $2',
    [afterTenant, limit],
  );
  return r.rows.map((row) => (typeof row.record === 'string' ? JSON.parse(row.record) : row.record));
}
