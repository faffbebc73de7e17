import type { Server } from '../servers/server.ts';
import { cpuMs, machineBusyMs, selfCpuMs } from './cpu.ts';
import { type LoadShape, measure, type Sample, type Target } from './load.ts';
import type { ContenderId } from './options.ts';

/** One thing measured: a target URL (and headers) plus the processes whose CPU it costs. */
export interface Contender {
  readonly id: ContenderId;
  readonly label: string;
  readonly target: Target;
  /** The proxy (none for the direct call). */
  readonly proxy: Server | undefined;
  readonly upstream: Server;
  /**
   * Services the proxy depends on while it serves (Redis, the identity service): their CPU per
   * request is reported apart from the proxy's, counted in CPU-bound req/s, and not counted as
   * "other processes".
   */
  readonly helpers?: readonly Server[];
  /** Called before each measurement (e.g. to sign in again before the access token expires). */
  readonly beforeRound?: () => Promise<void>;
}

export interface Round {
  readonly round: number;
  readonly sample: Sample;
  /** Proxy CPU time per 2xx answer, µs (NaN for the direct call). */
  readonly proxyCpuUsPerReq: number;
  readonly upstreamCpuUsPerReq: number;
  /** CPU of the helpers (Redis, identity service) per 2xx answer, µs (NaN when there are none). */
  readonly helperCpuUsPerReq: number;
  /** Load generator CPU over wall time, % of one core: near 100 means the client is the limit. */
  readonly clientCpuPct: number;
  /**
   * CPU used meanwhile by everything else on the machine (other sessions, builds, tests), % of one
   * core. Anything well above a few percent means the figures of that round were disturbed.
   */
  readonly otherCpuPct: number;
}

export async function runRound(
  c: Contender,
  round: number,
  seconds: number,
  shape: LoadShape,
): Promise<Round> {
  const proxyPids = c.proxy?.pids() ?? [];
  const upstreamPids = c.upstream.pids();
  const helperPids = (c.helpers ?? []).flatMap((h) => h.pids());
  const helper0 = cpuMs(helperPids);
  const proxy0 = cpuMs(proxyPids);
  const upstream0 = cpuMs(upstreamPids);
  const client0 = selfCpuMs();
  const machine0 = machineBusyMs();
  const sample = await measure(c.target, seconds, shape);
  const machine = machineBusyMs() - machine0;
  const client = selfCpuMs() - client0;
  const proxy = cpuMs(proxyPids) - proxy0;
  const upstream = cpuMs(upstreamPids) - upstream0;
  const helper = cpuMs(helperPids) - helper0;
  const perReq = (ms: number) => (sample.ok > 0 ? (ms * 1000) / sample.ok : Number.NaN);
  return {
    round,
    sample,
    proxyCpuUsPerReq: c.proxy === undefined ? Number.NaN : perReq(proxy),
    upstreamCpuUsPerReq: perReq(upstream),
    helperCpuUsPerReq: helperPids.length === 0 ? Number.NaN : perReq(helper),
    clientCpuPct: (client / (sample.seconds * 1000)) * 100,
    otherCpuPct: Math.max(
      0,
      ((machine - client - proxy - upstream - helper) / (sample.seconds * 1000)) * 100,
    ),
  };
}

/** Rounds alternate between contenders; each round starts one further along the list so none is always first. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const shift = round % Math.max(1, items.length);
  return [...items.slice(shift), ...items.slice(0, shift)];
}
