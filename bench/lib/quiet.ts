import { setTimeout as sleep } from 'node:timers/promises';
import { machineBusyMs } from './cpu.ts';

/**
 * The machine is shared (other sessions run builds and tests on the same two
 * cores). Before each measurement, wait a bounded time for a one-second
 * window in which the machine is nearly idle (our servers idle between
 * rounds), so that fewer rounds are disturbed. Returns the busy share seen
 * last, % of one core.
 */
export async function waitForQuiet(maxPct: number, maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let busy = Number.NaN;
  do {
    const before = machineBusyMs();
    await sleep(1_000);
    busy = (machineBusyMs() - before) / 10;
    if (!(busy > maxPct)) return busy;
  } while (Date.now() < deadline);
  return busy;
}
