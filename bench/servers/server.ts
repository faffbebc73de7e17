import { join } from 'node:path';
import type { Child } from '../lib/child.ts';
import { childPids } from '../lib/cpu.ts';
import type { Pinning } from '../lib/pin.ts';

/** A running server under test. */
export interface Server {
  readonly name: string;
  /** Base URL (scheme, host, port). */
  readonly url: string;
  /** The gateway's admin listener (/health, /metrics), where there is one. */
  readonly adminUrl?: string;
  /** Processes whose CPU time is this server's (e.g. nginx master + worker). */
  pids(): number[];
  readonly child: Child;
  /** Stops it; resolves with the exit code or signal. */
  stop(): Promise<number | string>;
}

export interface ServerContext {
  readonly pinning: Pinning;
  /** Scratch directory for configs and logs of this run. */
  readonly dir: string;
}

export function logPath(ctx: ServerContext, name: string): string {
  return join(ctx.dir, `${name}.log`);
}

export function childServer(
  name: string,
  url: string,
  child: Child,
  stopSignal: NodeJS.Signals = 'SIGTERM',
): Server {
  return {
    name,
    url,
    child,
    // Children too: a gateway started with several workers (cluster) forks them.
    pids: () => [child.pid, ...childPids(child.pid)],
    stop: () => child.stop(stopSignal),
  };
}
