import { createRequire } from 'node:module';
import { LatencyHistogram } from './histogram.ts';

/**
 * One autocannon run against one target, with its figures reduced to what the
 * report needs. Requests per second count 2xx answers only, so a contender
 * that answers 401 or 502 fast cannot look fast.
 */
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: { headers: Record<string, string> }) => unknown;
}

interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
  statusCodeStats: Record<string, { count: number }>;
  requests: { total: number };
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(event: 'response', fn: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void;
}

type Autocannon = (opts: {
  url: string;
  connections: number;
  pipelining: number;
  duration: number;
  headers?: Record<string, string>;
  requests?: AutocannonRequest[];
}) => AutocannonInstance;

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;

export interface Target {
  /** Full URL of the request (every request goes to the same path). */
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Per-request headers (e.g. a fresh token each time); costs the load generator a rebuild per request. */
  readonly perRequest?: () => Record<string, string>;
}

export interface Sample {
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly seconds: number;
  readonly statusCodes: Record<string, number>;
}

export interface LoadShape {
  readonly connections: number;
  readonly pipelining: number;
}

export async function measure(target: Target, seconds: number, shape: LoadShape): Promise<Sample> {
  const histogram = new LatencyHistogram();
  let ok = 0;
  const url = new URL(target.url);
  const perRequest = target.perRequest;
  const instance = autocannon({
    url: url.origin,
    connections: shape.connections,
    pipelining: shape.pipelining,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        path: `${url.pathname}${url.search}`,
        headers: target.headers ?? {},
        ...(perRequest === undefined
          ? {}
          : {
              setupRequest: (req: { headers: Record<string, string> }) => {
                Object.assign(req.headers, perRequest());
                return req;
              },
            }),
      },
    ],
  });
  instance.on('response', (_client, statusCode, _bytes, ms) => {
    if (statusCode >= 200 && statusCode < 300) {
      ok++;
      histogram.record(ms);
    }
  });
  const started = performance.now();
  const result = await instance;
  const elapsed = (performance.now() - started) / 1000;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats)) statusCodes[code] = stat.count;
  return {
    rps: ok / elapsed,
    p50: histogram.percentile(50),
    p90: histogram.percentile(90),
    p99: histogram.percentile(99),
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: elapsed,
    statusCodes,
  };
}
