import type { PlanId } from './catalogue.ts';
import { sumAmounts } from './money.ts';

export type InvoiceKind = 'initial' | 'renewal' | 'upgrade';
/** open: waiting for payment · paid · void: never owed (a refused upgrade) · uncollectible: written off after the grace period. */
export type InvoiceStatus = 'open' | 'paid' | 'void' | 'uncollectible';

export interface InvoiceLine {
  readonly description: string;
  readonly planId: PlanId;
  /** Minor units; negative for a credit. */
  readonly amount: number;
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly proration: boolean;
}

export interface InvoiceDraft {
  readonly kind: InvoiceKind;
  readonly currency: string;
  readonly lines: readonly InvoiceLine[];
  /** Always the sum of the lines: computed here, never passed in. */
  readonly total: number;
  /** The plan and period the invoice pays for. */
  readonly planId: PlanId;
  readonly periodStart: number;
  readonly periodEnd: number;
}

export function draftInvoice(
  kind: InvoiceKind,
  currency: string,
  lines: readonly InvoiceLine[],
  covers: { planId: PlanId; periodStart: number; periodEnd: number },
): InvoiceDraft {
  if (lines.length === 0) throw new RangeError('invoice: no lines');
  for (const line of lines)
    if (!Number.isSafeInteger(line.amount))
      throw new RangeError(`invoice: line amount ${line.amount} is not an integer`);
  return { kind, currency, lines, total: sumAmounts(lines.map((l) => l.amount)), ...covers };
}

/**
 * What is charged: a negative total (a credit larger than the charge, e.g. an
 * upgrade bought with a coupon) is never paid out, it is charged as zero.
 */
export function amountDue(invoice: Pick<InvoiceDraft, 'total'>): number {
  return Math.max(0, invoice.total);
}
