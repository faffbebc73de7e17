import { readFileSync } from 'node:fs';
import { scrapeMetrics } from './prom.ts';

/** Resident memory of the given processes (VmRSS from /proc), bytes; a process that is gone counts 0. */
export function rssBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += Number(match?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/**
 * The V8 heap in use of a Node service, from prom-client's default
 * `nodejs_heap_size_used_bytes` on its /metrics (base URL: the service, or the
 * gateway's admin listener); NaN when it cannot be read.
 */
export async function heapUsedBytes(metricsBase: string): Promise<number> {
  try {
    return (await scrapeMetrics(metricsBase)).value('nodejs_heap_size_used_bytes') ?? Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The soft limit on open files of this process (children inherit it), from /proc/self/limits. */
export function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return Number.NaN;
  }
}
