import type { Plan } from './catalogue.ts';
import type { InvoiceLine } from './invoice.ts';

/** a × b / c rounded half up, exact for any safe integers (BigInt: price × milliseconds overflows 2^53). */
export function mulDivRound(a: number, b: number, c: number): number {
  if (c <= 0) throw new RangeError('mulDivRound: divisor must be positive');
  const sign = a * b < 0 ? -1n : 1n;
  const n = BigInt(Math.abs(a)) * BigInt(Math.abs(b));
  const d = BigInt(c);
  return Number((sign * (2n * n + d)) / (2n * d));
}

export interface ProrationInput {
  readonly from: Plan;
  readonly to: Plan;
  readonly periodStart: number;
  readonly periodEnd: number;
  /** When the change takes effect (now), inside the period. */
  readonly at: number;
}

/**
 * The two lines of a plan change in the middle of a period: a credit for the
 * unused time of the old plan and a charge for the rest of the period on the
 * new one, each the plan's price × (time left / period length), rounded to a
 * whole minor unit on its own. Their sum is what the change costs; both lines
 * are shown on the invoice so the customer can check it.
 */
export function prorationLines(input: ProrationInput): InvoiceLine[] {
  const { from, to, periodStart, periodEnd } = input;
  if (from.price.currency !== to.price.currency)
    throw new RangeError('proration: plans in different currencies');
  if (!(periodStart < periodEnd)) throw new RangeError('proration: empty period');
  const at = Math.min(Math.max(input.at, periodStart), periodEnd);
  const length = periodEnd - periodStart;
  const left = periodEnd - at;
  return [
    {
      description: `Unused time on ${from.name}`,
      planId: from.id,
      amount: -mulDivRound(from.price.amount, left, length),
      periodStart: at,
      periodEnd,
      proration: true,
    },
    {
      description: `Remaining time on ${to.name}`,
      planId: to.id,
      amount: mulDivRound(to.price.amount, left, length),
      periodStart: at,
      periodEnd,
      proration: true,
    },
  ];
}
