import { readdirSync, readFileSync } from 'node:fs';
import { startPostgres as startThrowawayPostgres } from '../../scripts/backends.ts';
import { childPids } from '../lib/cpu.ts';

/**
 * A throwaway PostgreSQL server, started as the test suites start theirs
 * (scripts/backends.ts: a free loopback port, a temp directory, fsync off),
 * with the processes whose CPU is its own: the postmaster (found by its port
 * on the command line, since pg_ctl detaches it) and its backends.
 */
export interface PostgresServer {
  readonly name: string;
  /** postgres://… for DATABASE_URL. */
  readonly url: string;
  pids(): number[];
  stop(): Promise<void>;
}

/** The server, or why there is none (not installed, failed to start). */
export async function startPostgres(): Promise<PostgresServer | string> {
  const backend = await startThrowawayPostgres();
  if (typeof backend === 'string') return backend;
  const url = backend.env.GATEHOUSE_TEST_POSTGRES_URL as string;
  const master = postmasterPid(Number(new URL(url).port));
  return {
    name: 'postgres',
    url,
    pids: () => (master === undefined ? [] : [master, ...childPids(master)]),
    stop: async () => backend.stop(),
  };
}

function postmasterPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const p = argv.indexOf('-p');
      if (argv[0]?.endsWith('/postgres') && p > 0 && argv[p + 1] === String(port)) return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}
