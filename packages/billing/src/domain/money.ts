/**
 * Money is an integer count of the currency's minor units (cents) with its
 * ISO 4217 code. Never a float: 0.1 + 0.2 is not a price.
 */
export interface Money {
  readonly amount: number;
  readonly currency: string;
}

const CURRENCY = /^[A-Z]{3}$/;

export function money(amount: number, currency: string): Money {
  if (!Number.isSafeInteger(amount))
    throw new RangeError(`money: ${amount} is not an integer number of minor units`);
  if (!CURRENCY.test(currency)) throw new RangeError(`money: ${currency} is not an ISO 4217 code`);
  return { amount, currency };
}

export function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new RangeError(`money: ${a.currency} and ${b.currency} do not mix`);
}

export function sumAmounts(amounts: readonly number[]): number {
  let total = 0;
  for (const amount of amounts) {
    total += amount;
    if (!Number.isSafeInteger(total)) throw new RangeError('money: total out of the safe integer range');
  }
  return total;
}
