/**
 * Usage that services report to billing, and billing's count back. Chat
 * counts the messages it accepts per tenant and sends them in batches to
 * `POST /internal/usage/reports` (a platform-service call) with an
 * `Idempotency-Key` that names the batch: billing adds a batch's counts and
 * records its key in one transaction, so a batch sent again (its answer was
 * lost) is never counted twice. Every instance reports its own counts under
 * keys of its own; billing adds them up. Billing counts per tenant per billing
 * period (the subscription's, else the calendar month, UTC).
 */

/** Where services report usage: `{ reports: [{ tenantId, messages }] }`, with an Idempotency-Key. */
export const USAGE_REPORTS_PATH = '/internal/usage/reports';

/** The route as billing declares it: one tenant's count this period (`GET`). */
export const TENANT_USAGE_ROUTE = '/internal/usage/:tenantId';

export function tenantUsagePath(tenantId: string): string {
  return `/internal/usage/${encodeURIComponent(tenantId)}`;
}

/** A tenant id billing takes (the identity service's are UUIDs). */
export const USAGE_TENANT_ID_MAX_LENGTH = 64;
/** Tenants one batch may name; a reporter with more sends the rest in the next batch. */
export const USAGE_REPORT_MAX_TENANTS = 500;
/** Messages one entry may carry; a reporter with more leaves the rest for the next batch. */
export const USAGE_REPORT_MAX_MESSAGES = 1_000_000;

export interface UsageReportEntry {
  readonly tenantId: string;
  readonly messages: number;
}

export interface UsageReportBatch {
  readonly reports: readonly UsageReportEntry[];
}

/** A tenant's count in its current period, as billing answers it (after a report, or on a read). */
export interface TenantUsage {
  readonly tenantId: string;
  /** ISO 8601. */
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly messages: number;
  /** null: the plan has no message quota. */
  readonly messageQuota: number | null;
  readonly remaining: number | null;
}

/** Billing's answer to a batch: each reported tenant's count now, this batch included. */
export interface UsageReportAnswer {
  readonly usage: readonly TenantUsage[];
}

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const time = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/** One tenant's usage from billing's answer; undefined for anything malformed. */
export function parseTenantUsage(value: unknown): TenantUsage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const u = value as Record<string, unknown>;
  if (typeof u.tenantId !== 'string' || u.tenantId.length === 0) return undefined;
  if (!time(u.periodStart) || !time(u.periodEnd) || !count(u.messages)) return undefined;
  if (u.messageQuota !== null && !count(u.messageQuota)) return undefined;
  if (u.remaining !== null && !count(u.remaining)) return undefined;
  return {
    tenantId: u.tenantId,
    periodStart: u.periodStart,
    periodEnd: u.periodEnd,
    messages: u.messages,
    messageQuota: u.messageQuota as number | null,
    remaining: u.remaining as number | null,
  };
}
