import { spawnSync } from 'node:child_process';

/**
 * CPU pinning with taskset (util-linux): the load generator (this process) on
 * one core, the proxy under test and the upstream on the other, so that the
 * client does not steal the proxy's CPU. Without taskset (or with fewer than
 * two cores) everything floats and the report says so.
 */
export const LOAD_CORE = 0;
export const SERVER_CORE = 1;

export interface Pinning {
  readonly enabled: boolean;
  readonly reason: string;
}

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function setUpPinning(wanted: boolean, cores: number): Pinning {
  if (!wanted) return { enabled: false, reason: 'disabled by BENCH_PIN=0' };
  if (cores < 2) return { enabled: false, reason: `only ${cores} core(s)` };
  if (!hasTaskset()) return { enabled: false, reason: 'taskset not found (install util-linux)' };
  // -a: every thread of this process (libuv pool, V8 helpers), not just the main one.
  const result = spawnSync('taskset', ['-a', '-p', '-c', String(LOAD_CORE), String(process.pid)], {
    encoding: 'utf8',
  });
  if (result.status !== 0) return { enabled: false, reason: `taskset failed: ${result.stderr.trim()}` };
  return {
    enabled: true,
    reason: `load generator on CPU ${LOAD_CORE}; proxy and upstream on CPU ${SERVER_CORE}`,
  };
}

/** The command line that runs `command` on the server core when pinning is on. */
export function onServerCore(pinning: Pinning, command: string, args: readonly string[]): [string, string[]] {
  if (!pinning.enabled) return [command, [...args]];
  return ['taskset', ['-c', String(SERVER_CORE), command, ...args]];
}
