import type { Queryable } from '@gatehouse/kit/service';
import type { PlanId } from '../domain/catalogue.ts';
import {
  amountDue,
  type InvoiceDraft,
  type InvoiceKind,
  type InvoiceLine,
  type InvoiceStatus,
} from '../domain/invoice.ts';
import { toInt, toMs, toMsOrNull } from './rows.ts';

export interface Invoice {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: InvoiceKind;
  readonly status: InvoiceStatus;
  readonly currency: string;
  readonly total: number;
  readonly amountDue: number;
  readonly planId: PlanId;
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly provider: string;
  readonly paymentId: string | null;
  readonly failureCode: string | null;
  readonly createdAt: number;
  readonly paidAt: number | null;
  readonly lines: readonly InvoiceLine[];
}

interface InvoiceRow {
  id: string;
  tenant_id: string;
  kind: InvoiceKind;
  status: InvoiceStatus;
  currency: string;
  total: string | number;
  amount_due: string | number;
  plan_id: PlanId;
  period_start: Date;
  period_end: Date;
  provider: string;
  payment_id: string | null;
  failure_code: string | null;
  created_at: Date;
  paid_at: Date | null;
}

interface LineRow {
  invoice_id: string;
  description: string;
  plan_id: PlanId;
  amount: string | number;
  period_start: Date;
  period_end: Date;
  proration: boolean;
}

export async function insertInvoice(
  q: Queryable,
  invoice: { id: string; tenantId: string; provider: string; createdAt: number; draft: InvoiceDraft },
): Promise<void> {
  const { draft } = invoice;
  await q.query(
    `insert into invoices (id, tenant_id, kind, status, currency, total, amount_due, plan_id, period_start,
       period_end, provider, created_at)
     values ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      invoice.id,
      invoice.tenantId,
      draft.kind,
      draft.currency,
      draft.total,
      amountDue(draft),
      draft.planId,
      new Date(draft.periodStart),
      new Date(draft.periodEnd),
      invoice.provider,
      new Date(invoice.createdAt),
    ],
  );
  let position = 0;
  for (const line of draft.lines) {
    await q.query(
      `insert into invoice_lines (invoice_id, position, description, plan_id, amount, period_start, period_end, proration)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        invoice.id,
        position++,
        line.description,
        line.planId,
        line.amount,
        new Date(line.periodStart),
        new Date(line.periodEnd),
        line.proration,
      ],
    );
  }
}

/** Moves an invoice on; a paid, void or uncollectible invoice never changes again (no double settlement). */
export async function settleInvoice(
  q: Queryable,
  id: string,
  patch: { status: InvoiceStatus; paymentId?: string | null; failureCode?: string | null; at: number },
): Promise<boolean> {
  const r = await q.query(
    `update invoices set status = $2, payment_id = coalesce($3, payment_id), failure_code = $4,
       paid_at = case when $2 = 'paid' then $5::timestamptz else paid_at end
     where id = $1 and status = 'open'`,
    [id, patch.status, patch.paymentId ?? null, patch.failureCode ?? null, new Date(patch.at)],
  );
  return r.rowCount === 1;
}

export async function recordPayment(
  q: Queryable,
  id: string,
  paymentId: string,
  failureCode: string | null,
): Promise<void> {
  await q.query('update invoices set payment_id = $2, failure_code = $3 where id = $1', [
    id,
    paymentId,
    failureCode,
  ]);
}

async function withLines(q: Queryable, rows: InvoiceRow[]): Promise<Invoice[]> {
  if (rows.length === 0) return [];
  const lines = await q.query<LineRow>(
    'select * from invoice_lines where invoice_id = any($1::uuid[]) order by invoice_id, position',
    [rows.map((r) => r.id)],
  );
  return rows.map((row) => ({
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    status: row.status,
    currency: row.currency,
    total: toInt(row.total),
    amountDue: toInt(row.amount_due),
    planId: row.plan_id,
    periodStart: toMs(row.period_start),
    periodEnd: toMs(row.period_end),
    provider: row.provider,
    paymentId: row.payment_id,
    failureCode: row.failure_code,
    createdAt: toMs(row.created_at),
    paidAt: toMsOrNull(row.paid_at),
    lines: lines.rows
      .filter((l) => l.invoice_id === row.id)
      .map((l) => ({
        description: l.description,
        planId: l.plan_id,
        amount: toInt(l.amount),
        periodStart: toMs(l.period_start),
        periodEnd: toMs(l.period_end),
        proration: l.proration,
      })),
  }));
}

export async function listInvoices(q: Queryable, tenantId: string, limit = 100): Promise<Invoice[]> {
  const r = await q.query<InvoiceRow>(
    'select * from invoices where tenant_id = $1 order by created_at desc, id limit $2',
    [tenantId, limit],
  );
  return withLines(q, r.rows);
}

export async function findInvoice(q: Queryable, id: string): Promise<Invoice | undefined> {
  const r = await q.query<InvoiceRow>('select * from invoices where id = $1', [id]);
  return (await withLines(q, r.rows))[0];
}

export async function findInvoiceByPayment(q: Queryable, paymentId: string): Promise<Invoice | undefined> {
  const r = await q.query<InvoiceRow>('select * from invoices where payment_id = $1', [paymentId]);
  return (await withLines(q, r.rows))[0];
}

/** Open invoices of a tenant, written off when its subscription ends unpaid. */
export async function markOpenUncollectible(q: Queryable, tenantId: string): Promise<void> {
  await q.query(`update invoices set status = 'uncollectible' where tenant_id = $1 and status = 'open'`, [
    tenantId,
  ]);
}
