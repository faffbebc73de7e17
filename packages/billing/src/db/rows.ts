/** Column values as pg and PGlite return them, to the domain's numbers. */

export function toMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') return Date.parse(value);
  if (typeof value === 'number') return value;
  throw new TypeError(`not a timestamp: ${String(value)}`);
}

export function toMsOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : toMs(value);
}

/** bigint columns come back as strings from pg; money stays an exact integer. */
export function toInt(value: unknown): number {
  const n =
    typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? Number(value) : (value as number);
  if (!Number.isSafeInteger(n)) throw new TypeError(`not a safe integer: ${String(value)}`);
  return n;
}

export function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}
