import type { Queryable } from '@gatehouse/kit/service';

export interface AuditEntry {
  event: string;
  userId?: string | undefined;
  tenantId?: string | undefined;
  ip?: string | undefined;
  requestId?: string | undefined;
  detail?: Record<string, unknown> | undefined;
}

export async function insertAudit(q: Queryable, entry: AuditEntry): Promise<void> {
  await q.query(
    'insert into audit_log (event, user_id, tenant_id, ip, request_id, detail) values ($1, $2, $3, $4, $5, $6)',
    [
      entry.event,
      entry.userId ?? null,
      entry.tenantId ?? null,
      entry.ip ?? null,
      entry.requestId ?? null,
      JSON.stringify(entry.detail ?? {}),
    ],
  );
}
