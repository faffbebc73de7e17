/**
 * Milliseconds on the system's monotonic clock (CLOCK_MONOTONIC, the one
 * behind `process.hrtime`): one time base for every thread and process on the
 * machine, so a time stamped by the sender can be subtracted from a time read
 * in a receiver running in a worker thread or another process.
 * `performance.now()` has a per-thread origin and cannot be compared that way.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
