import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of server processes from /proc (Linux), to report what each proxy
 * costs per request, independent of how busy the machine was. Clock ticks are
 * 10 ms (CLK_TCK 100), plenty for runs of several seconds.
 */
const TICK_MS = 10;

interface Stat {
  readonly ppid: number;
  readonly cpuMs: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime and stime are fields 14 and 15.
    return { ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
  } catch {
    return undefined;
  }
}

/** CPU milliseconds used so far by the given processes (user + system). */
export function cpuMs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += readStat(pid)?.cpuMs ?? 0;
  return total;
}

/** Direct children of `pid` (e.g. nginx workers under the master). */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (readStat(Number(entry))?.ppid === pid) found.push(Number(entry));
  }
  return found;
}

/** This process's CPU milliseconds (all threads): the load generator's own cost. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** CPU milliseconds the whole machine has been busy (all cores, from /proc/stat), or NaN off Linux. */
export function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    const t = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    return (total - (t[3] ?? 0) - (t[4] ?? 0)) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

/** CPU milliseconds so far of each of the given processes. */
export function cpuByPid(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat !== undefined) out.set(pid, stat.cpuMs);
  }
  return out;
}

/**
 * CPU milliseconds used between two `cpuByPid` readings of a group whose
 * processes come and go (Postgres starts a backend per connection): a process
 * that appeared counts whole (it started inside the window), one that ended
 * is missing (its last share is lost: a lower bound, never negative).
 */
export function cpuBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += Math.max(0, ms - (before.get(pid) ?? 0));
  return total;
}
