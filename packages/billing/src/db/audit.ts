import type { Queryable } from '@gatehouse/kit/service';

export interface AuditEntry {
  /** `user:<id>`, `system:scheduler`, `provider:<name>` … */
  readonly actor: string;
  readonly tenantId: string | null;
  readonly action: string;
  readonly requestId: string | null;
  readonly at: number;
  readonly detail?: Record<string, unknown>;
}

export async function insertAudit(q: Queryable, entry: AuditEntry): Promise<void> {
  await q.query(
    'insert into audit_log (at, actor, tenant_id, action, request_id, detail) values ($1, $2, $3, $4, $5, $6)',
    [
      new Date(entry.at),
      entry.actor,
      entry.tenantId,
      entry.action,
      entry.requestId,
      JSON.stringify(entry.detail ?? {}),
    ],
  );
}

export async function listAudit(
  q: Queryable,
  tenantId: string,
  limit = 100,
): Promise<{ at: number; actor: string; action: string; requestId: string | null; detail: unknown }[]> {
  const r = await q.query<{
    at: Date;
    actor: string;
    action: string;
    request_id: string | null;
    detail: unknown;
  }>(
    'select at, actor, action, request_id, detail from audit_log where tenant_id = $1 order by id desc limit $2',
    [tenantId, limit],
  );
  return r.rows.map((row) => ({
    at: row.at.getTime(),
    actor: row.actor,
    action: row.action,
    requestId: row.request_id,
    detail: row.detail,
  }));
}
