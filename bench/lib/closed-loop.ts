import type { Agent } from 'node:http';
import { LatencyHistogram } from './histogram.ts';
import { httpCall, keepAliveAgent } from './http-call.ts';

/**
 * A closed loop over keep-alive connections: `concurrency` loops, each sends
 * a request and waits for its answer before the next, for `seconds` (after
 * `warmupSeconds` not counted). Requests come from `next` in turn, so they
 * can spread over users, paths and origins. Counts 2xx answers only.
 */
export interface LoopRequest {
  readonly origin: string;
  readonly path: string;
  readonly headers: Record<string, string>;
}

export interface ClosedLoopResult {
  readonly ok: number;
  readonly failed: number;
  readonly statusCodes: Record<string, number>;
  readonly seconds: number;
  /** 2xx answers per second. */
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

export async function closedLoop(o: {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly concurrency: number;
  readonly next: (i: number) => LoopRequest;
}): Promise<ClosedLoopResult> {
  const agents = new Map<string, Agent>();
  const agentFor = (origin: string) => {
    let agent = agents.get(origin);
    if (agent === undefined) {
      agent = keepAliveAgent(o.concurrency);
      agents.set(origin, agent);
    }
    return agent;
  };
  const histogram = new LatencyHistogram();
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let i = 0;
  const begin = performance.now();
  const measureFrom = begin + o.warmupSeconds * 1000;
  const end = measureFrom + o.seconds * 1000;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (performance.now() < end) {
        const r = o.next(i++);
        const sent = performance.now();
        let status = 0;
        try {
          status = (await httpCall(agentFor(r.origin), r.origin, 'GET', r.path, r.headers)).status;
        } catch {
          status = 0;
        }
        if (sent < measureFrom) continue;
        statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        if (status >= 200 && status < 300) {
          ok++;
          histogram.record(performance.now() - sent);
        } else failed++;
      }
    }),
  );
  const seconds = (performance.now() - measureFrom) / 1000;
  for (const agent of agents.values()) agent.destroy();
  return {
    ok,
    failed,
    statusCodes,
    seconds,
    rate: ok / seconds,
    p50: histogram.percentile(50),
    p99: histogram.percentile(99),
  };
}
