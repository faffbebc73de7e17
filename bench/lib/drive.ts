import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyHistogram } from './histogram.ts';

/**
 * Load for the load scenarios (bench/load/): autocannon's programmatic API
 * with a mix of requests, per-request headers (rotating tokens), a fixed
 * offered rate or closed loop, and figures split by what the answer was:
 * expected (2xx unless told otherwise), fast refusals (429, 503), other
 * answers, socket errors and client timeouts.
 *
 * A fixed rate: autocannon's `overallRate` lets each connection send its
 * share of a second back to back and then wait for the next second, so one
 * instance sends in bursts once a second. `drive` runs `slots` instances
 * started 1/slots s apart, each with 1/slots of the rate, so the load comes in
 * small bursts (about 10 requests) up to 50 times a second.
 */
interface AutocannonRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: { headers: Record<string, string> }) => unknown;
  onResponse?: (status: number, body: string, context: unknown, headers: Record<string, unknown>) => void;
}

interface AutocannonResult {
  errors: number;
  timeouts: number;
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(event: 'response', fn: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void;
  on(event: 'reqError', fn: (err: Error) => void): void;
  stop(): void;
}

type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  overallRate?: number;
  requests: AutocannonRequest[];
}) => AutocannonInstance;

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;

export interface RequestSpec {
  readonly method?: string;
  /** Path and query. */
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  /** Headers built for each request (a rotating token), merged over `headers`. */
  readonly perRequest?: () => Record<string, string>;
}

export interface Answer {
  readonly status: number;
  /** The gateway's error code (`GW_…`) of a refusal, when the body has one. */
  readonly code: string | undefined;
  /** Header names in lower case. */
  readonly headers: Record<string, string>;
}

export interface DriveOptions {
  /** The gateway's origin. */
  readonly url: string;
  /** Sent in turn on every connection (a mix: list a request twice to send it twice as often). */
  readonly requests: readonly RequestSpec[];
  readonly seconds: number;
  /** Offered requests per second; undefined: closed loop, as fast as the answers come. */
  readonly rate?: number;
  /** Default: 50 closed loop; with a rate, one per 5 req/s (at least 10), so bursts stay small. */
  readonly connections?: number;
  /** Client timeout per request, seconds (default 10). */
  readonly timeoutSeconds?: number;
  /** Bursts per second at a fixed rate (default: rate / 10, at most 50). */
  readonly slots?: number;
  /** Which answers count as expected (default 2xx). */
  readonly expected?: (status: number) => boolean;
  /** Called for every answer (status, error code, headers), e.g. to check refusal headers. */
  readonly onAnswer?: (answer: Answer) => void;
}

export interface Latency {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface DriveResult {
  /** How long each of the staggered instances ran (the rate's time base). */
  readonly seconds: number;
  /** From the first request to the last answer (the instances start up to 1 s apart). */
  readonly wallSeconds: number;
  readonly offeredRate: number | undefined;
  readonly connections: number;
  /** Answers of any status. */
  readonly answered: number;
  readonly expected: number;
  /** Answers that were not expected (status outside `expected`). */
  readonly unexpected: number;
  /** 429 and 503 answers (load shedding), expected or not. */
  readonly refusals: number;
  readonly socketErrors: number;
  readonly timeouts: number;
  /** unexpected + socket errors + timeouts. */
  readonly failures: number;
  readonly answeredRate: number;
  readonly expectedRate: number;
  readonly statusCodes: Record<string, number>;
  /** Gateway error codes seen in non-2xx answers. */
  readonly errorCodes: Record<string, number>;
  readonly socketErrorMessages: Record<string, number>;
  /** Latency of every answer; of expected answers; of 429/503 answers (ms). */
  readonly latency: Latency;
  readonly expectedLatency: Latency;
  readonly refusalLatency: Latency;
}

const isSuccess = (status: number) => status >= 200 && status < 300;
const CODE = /"code"\s*:\s*"([A-Z][A-Z0-9_]+)"/;

function latencyOf(h: LatencyHistogram, max: number): Latency {
  return { count: h.count, p50: h.percentile(50), p95: h.percentile(95), p99: h.percentile(99), max };
}

function lowerCase(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

/** Splits `total` into `parts` whole numbers that differ by at most one. */
function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

export async function drive(o: DriveOptions): Promise<DriveResult> {
  const expected = o.expected ?? isSuccess;
  const all = new LatencyHistogram();
  const good = new LatencyHistogram();
  const refused = new LatencyHistogram();
  const max = { all: 0, good: 0, refused: 0 };
  const statusCodes: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  const socketErrorMessages: Record<string, number> = {};
  let answered = 0;
  let expectedCount = 0;
  let refusals = 0;

  // autocannon keeps each request's built buffer on its object: one set of objects per instance.
  const requests = (): AutocannonRequest[] =>
    o.requests.map((r) => {
      const perRequest = r.perRequest;
      const body = r.body === undefined ? undefined : JSON.stringify(r.body);
      return {
        method: r.method ?? 'GET',
        path: r.path,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...r.headers },
        ...(body === undefined ? {} : { body }),
        ...(perRequest === undefined
          ? {}
          : {
              setupRequest: (req: { headers: Record<string, string> }) => {
                req.headers = { ...req.headers, ...perRequest() };
                return req;
              },
            }),
        onResponse: (status, text, _context, headers) => {
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
          const code = isSuccess(status) ? undefined : CODE.exec(text)?.[1];
          if (code !== undefined) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
          o.onAnswer?.({ status, code, headers: lowerCase(headers) });
        },
      };
    });

  const rate = o.rate === undefined ? undefined : Math.max(1, Math.round(o.rate));
  // Bursts of about 10 requests, at most 50 a second.
  const slots = rate === undefined ? 1 : Math.max(1, Math.min(o.slots ?? Math.ceil(rate / 10), 50, rate));
  const connections = Math.max(
    slots,
    o.connections ?? (rate === undefined ? 50 : Math.max(10, Math.ceil(rate / 5))),
  );
  const rates = rate === undefined ? [undefined] : split(rate, slots);
  const conns = split(connections, slots);

  const started = performance.now();
  let lastAnswerAt = started;
  const runs = rates.map(async (slotRate, i): Promise<AutocannonResult> => {
    await sleep((i * 1000) / slots);
    const instance = autocannon({
      url: o.url,
      // autocannon caps connections at the rate; keep at least one request per connection and second.
      connections: Math.max(1, Math.min(conns[i] ?? 1, slotRate ?? Number.POSITIVE_INFINITY)),
      duration: o.seconds,
      timeout: o.timeoutSeconds ?? 10,
      ...(slotRate === undefined ? {} : { overallRate: slotRate }),
      requests: requests(),
    });
    instance.on('response', (_client, status, _bytes, ms) => {
      lastAnswerAt = performance.now();
      answered++;
      all.record(ms);
      max.all = Math.max(max.all, ms);
      if (expected(status)) {
        expectedCount++;
        good.record(ms);
        max.good = Math.max(max.good, ms);
      }
      if (status === 429 || status === 503) {
        refusals++;
        refused.record(ms);
        max.refused = Math.max(max.refused, ms);
      }
    });
    instance.on('reqError', (err) => {
      if (err.message === 'request timed out') return;
      const key = (err as NodeJS.ErrnoException).code ?? err.message;
      socketErrorMessages[key] = (socketErrorMessages[key] ?? 0) + 1;
    });
    return await instance;
  });
  const results = await Promise.all(runs);
  const seconds = (lastAnswerAt - started) / 1000;
  const timeouts = results.reduce((n, r) => n + r.timeouts, 0);
  const socketErrors = results.reduce((n, r) => n + r.errors - r.timeouts, 0);
  const unexpected = answered - expectedCount;
  // The slots start 1/slots s apart: the load ran `o.seconds` in each, not the whole wall time.
  const loadSeconds = o.seconds;
  return {
    seconds: loadSeconds,
    wallSeconds: seconds,
    offeredRate: rate,
    connections,
    answered,
    expected: expectedCount,
    unexpected,
    refusals,
    socketErrors,
    timeouts,
    failures: unexpected + socketErrors + timeouts,
    answeredRate: answered / loadSeconds,
    expectedRate: expectedCount / loadSeconds,
    statusCodes,
    errorCodes,
    socketErrorMessages,
    latency: latencyOf(all, max.all),
    expectedLatency: latencyOf(good, max.good),
    refusalLatency: latencyOf(refused, max.refused),
  };
}

/** `200: 1234, 503: 12 (GW_UPSTREAM_BUSY 12), timeouts 3` */
export function describeAnswers(r: DriveResult): string {
  const codes = Object.entries(r.statusCodes)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  const gw = Object.entries(r.errorCodes)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  const errors = Object.entries(r.socketErrorMessages)
    .map(([m, n]) => `${m} ${n}`)
    .join(', ');
  return [
    codes === '' ? 'no answers' : codes,
    gw === '' ? '' : `(${gw})`,
    r.timeouts > 0 ? `timeouts ${r.timeouts}` : '',
    r.socketErrors > 0 ? `socket errors ${r.socketErrors}${errors === '' ? '' : ` (${errors})`}` : '',
  ]
    .filter((s) => s !== '')
    .join(' ');
}

export const ms = (v: number): string =>
  Number.isNaN(v)
    ? '–'
    : v < 10
      ? `${v.toFixed(2)} ms`
      : v < 100
        ? `${v.toFixed(1)} ms`
        : `${Math.round(v)} ms`;
