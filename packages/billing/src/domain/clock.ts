/**
 * Where the billing domain reads the time. Every period boundary, grace
 * deadline and proration depends on it, so tests drive it by hand (a manual
 * clock in test/) instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

const DAY_MS = 86_400_000;

export function days(n: number): number {
  return n * DAY_MS;
}

/**
 * One calendar month later in UTC; the day is clamped to the month's last day
 * (31 January + 1 month = 28 or 29 February), as payment providers do.
 */
export function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(
    year,
    month,
    Math.min(d.getUTCDate(), lastDay),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}
