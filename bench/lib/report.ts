import type { Contender, Round } from './contest.ts';
import { median, sum } from './stats.ts';

export interface Row {
  readonly id: string;
  readonly label: string;
  readonly rounds: readonly Round[];
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly vsDirect: number;
  readonly vsFastGateway: number;
  readonly proxyCpuUsPerReq: number;
  readonly upstreamCpuUsPerReq: number;
  /** Redis and the identity service, per request (NaN for contenders without helpers). */
  readonly helperCpuUsPerReq: number;
  /**
   * Requests per second the server core could serve if this proxy and the
   * upstream (and its helpers) had it to themselves: 10⁶ / (proxy + upstream
   * [+ Redis and identity service] CPU µs per request).
   * Much less sensitive to other processes than req/s.
   */
  readonly cpuBoundRps: number;
  readonly clientCpuPct: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

export interface Skipped {
  readonly label: string;
  readonly reason: string;
}

/** Rounds during which other processes used more than this share of a core. */
export const DISTURBED_PCT = 10;

export function disturbance(rows: readonly Row[]): string {
  const all = rows.flatMap((r) => r.rounds);
  const disturbed = all.filter((r) => r.otherCpuPct > DISTURBED_PCT);
  const worst = Math.max(0, ...all.map((r) => r.otherCpuPct));
  if (disturbed.length === 0)
    return `other processes used at most ${worst.toFixed(0)}% of a core during any round`;
  return `${disturbed.length} of ${all.length} rounds ran while other processes used more than ${DISTURBED_PCT}% of a core (worst ${worst.toFixed(0)}%): the machine was shared, compare ratios rather than absolute figures`;
}

const orZero = (n: number) => (Number.isFinite(n) ? n : 0);

/** Round i of one contender against round i of another: rounds alternate, so each pair shares a phase of the machine. */
function perRoundRatios(a: Row, b: Row, value: (r: Round) => number): number[] {
  const n = Math.min(a.rounds.length, b.rounds.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = value(a.rounds[i] as Round);
    const y = value(b.rounds[i] as Round);
    if (y > 0) ratios.push(x / y);
  }
  return ratios;
}

const pct = (n: number) => `${Math.round(n * 100)}%`;
const spread = (ratios: readonly number[]) =>
  ratios.length === 0 ? 'no rounds' : `per round ${ratios.map(pct).join(', ')}`;

/**
 * Issue 4's target, tightened by issue 16: the full pipeline with Redis (reused token) against the
 * foundation gateway (reused token) measured in the same run, ≥ 85% in every round (the spread of
 * the rounds says how stable it is). Undefined unless both ran.
 */
export function fullVsFoundation(rows: readonly Row[]): string | undefined {
  const full = rows.find((r) => r.id === 'gateway-full');
  const base = rows.find((r) => r.id === 'gateway-reused');
  if (full === undefined || base === undefined || !(base.rps > 0)) return undefined;
  const helper = Number.isFinite(full.helperCpuUsPerReq)
    ? `; Redis + identity service ${fmt(full.helperCpuUsPerReq)} µs more per request on the server core`
    : '';
  const rounds = perRoundRatios(full, base, (r) => r.sample.rps);
  const verdict = rounds.length > 0 && Math.min(...rounds) >= 0.85 ? 'target met' : 'target NOT met';
  return (
    `full pipeline with Redis: ${pct(full.rps / base.rps)} of the foundation gateway's throughput, ${spread(rounds)} (target ≥ 85% in every round: ${verdict}) ` +
    `(${fmt(full.rps)} vs ${fmt(base.rps)} req/s; gateway CPU ${fmt(full.proxyCpuUsPerReq)} vs ${fmt(base.proxyCpuUsPerReq)} µs per request${helper}; ` +
    `CPU-bound ${pct(full.cpuBoundRps / base.cpuBoundRps)})`
  );
}

/**
 * Issue 16's first target: the gateway (reused token, access log on) against the peers in the same
 * run: ≥ 1.0× fast-gateway's throughput and ≥ 30% of nginx's, by req/s and by CPU per request.
 */
export function gatewayVsPeers(rows: readonly Row[]): string | undefined {
  const gw = rows.find((r) => r.id === 'gateway-reused');
  const fg = rows.find((r) => r.id === 'fast-gateway');
  const nginx = rows.find((r) => r.id === 'nginx');
  if (gw === undefined || (fg === undefined && nginx === undefined)) return undefined;
  const parts: string[] = [];
  if (fg !== undefined && fg.rps > 0) {
    const x = gw.rps / fg.rps;
    const rounds = perRoundRatios(gw, fg, (r) => r.sample.rps);
    parts.push(
      `${x.toFixed(2)}× fast-gateway's throughput, ${rounds.map((r) => `${r.toFixed(2)}×`).join(', ')} per round (target ≥ 1.0×: ${x >= 1 ? 'met' : 'NOT met'}); ` +
        `CPU per request ${fmt(gw.proxyCpuUsPerReq)} vs ${fmt(fg.proxyCpuUsPerReq)} µs (${(fg.proxyCpuUsPerReq / gw.proxyCpuUsPerReq).toFixed(2)}× by CPU)`,
    );
  }
  if (nginx !== undefined && nginx.rps > 0) {
    const x = gw.rps / nginx.rps;
    parts.push(
      `${pct(x)} of nginx's (target ≥ 30%: ${x >= 0.3 ? 'met' : 'NOT met'}); CPU per request ${fmt(gw.proxyCpuUsPerReq)} vs ${fmt(nginx.proxyCpuUsPerReq)} µs`,
    );
  }
  return `gateway (reused token, access log on): ${parts.join('; ')}`;
}

/** What the access log costs now: the same gateway with and without it, same run. */
export function accessLogCost(rows: readonly Row[]): string | undefined {
  const on = rows.find((r) => r.id === 'gateway-reused');
  const off = rows.find((r) => r.id === 'gateway-nolog');
  if (on === undefined || off === undefined || !(off.rps > 0)) return undefined;
  return (
    `access log: ${((1 - on.rps / off.rps) * 100).toFixed(1)}% of throughput and ${fmt(on.proxyCpuUsPerReq - off.proxyCpuUsPerReq)} µs of gateway CPU per request ` +
    `(${fmt(on.rps)} vs ${fmt(off.rps)} req/s; ${fmt(on.proxyCpuUsPerReq)} vs ${fmt(off.proxyCpuUsPerReq)} µs per request)`
  );
}

/** Fresh tokens: what a verification costs the gateway against node:crypto on the same key (the floor). */
export function verificationCost(rows: readonly Row[], floorUs: number | undefined): string | undefined {
  const fresh = rows.find((r) => r.id === 'gateway-fresh');
  const reused = rows.find((r) => r.id === 'gateway-reused');
  if (fresh === undefined || reused === undefined || floorUs === undefined) return undefined;
  const added = fresh.proxyCpuUsPerReq - reused.proxyCpuUsPerReq;
  return (
    `fresh token: ${fmt(added)} µs of gateway CPU per request more than a cached token; node:crypto's verify on the same key ` +
    `takes ${floorUs.toFixed(1)} µs in this process (the floor), so parsing, claims, caching and the rest add ${fmt(added - floorUs)} µs`
  );
}

/**
 * Issue 5's target: metrics and tracing (10% sampled, exported) against both off, measured in the
 * same run: under 5% fewer requests per second and under 1 ms more p99. Undefined unless both ran.
 */
export function observabilityCost(rows: readonly Row[]): string | undefined {
  const on = rows.find((r) => r.id === 'gateway-traced');
  const off = rows.find((r) => r.id === 'gateway-bare');
  if (on === undefined || off === undefined || !(off.rps > 0)) return undefined;
  const drop = 1 - on.rps / off.rps;
  const addedP99 = on.p99 - off.p99;
  const verdict = drop <= 0.05 && addedP99 <= 1 ? 'target met' : 'target NOT met';
  const cpu = on.proxyCpuUsPerReq / off.proxyCpuUsPerReq - 1;
  return (
    `observability: metrics + tracing (10% sampled, OTLP export) cost ${(drop * 100).toFixed(1)}% of throughput ` +
    `(${(cpu * 100).toFixed(1)}% more gateway CPU per request) ` +
    `and ${addedP99.toFixed(2)} ms of p99 against both off (target ≤ 5% and ≤ 1 ms: ${verdict}) ` +
    `(${fmt(on.rps)} vs ${fmt(off.rps)} req/s; p99 ${on.p99.toFixed(2)} vs ${off.p99.toFixed(2)} ms; ` +
    `gateway CPU ${fmt(on.proxyCpuUsPerReq)} vs ${fmt(off.proxyCpuUsPerReq)} µs per request)`
  );
}

export function buildRows(contenders: readonly Contender[], results: ReadonlyMap<string, Round[]>): Row[] {
  const base = contenders.map((c) => {
    const rounds = results.get(c.id) ?? [];
    const s = rounds.map((r) => r.sample);
    return {
      id: c.id,
      label: c.label,
      rounds,
      rps: median(s.map((x) => x.rps)),
      p50: median(s.map((x) => x.p50)),
      p99: median(s.map((x) => x.p99)),
      proxyCpuUsPerReq: median(rounds.map((r) => r.proxyCpuUsPerReq)),
      upstreamCpuUsPerReq: median(rounds.map((r) => r.upstreamCpuUsPerReq)),
      helperCpuUsPerReq: median(rounds.map((r) => r.helperCpuUsPerReq)),
      cpuBoundRps: median(
        rounds.map(
          (r) => 1e6 / (orZero(r.proxyCpuUsPerReq) + r.upstreamCpuUsPerReq + orZero(r.helperCpuUsPerReq)),
        ),
      ),
      clientCpuPct: median(rounds.map((r) => r.clientCpuPct)),
      non2xx: sum(s.map((x) => x.non2xx)),
      errors: sum(s.map((x) => x.errors)),
      timeouts: sum(s.map((x) => x.timeouts)),
    };
  });
  const rpsOf = (id: string) => base.find((r) => r.id === id)?.rps ?? Number.NaN;
  return base.map((r) => ({
    ...r,
    vsDirect: r.rps / rpsOf('direct'),
    vsFastGateway: r.rps / rpsOf('fast-gateway'),
  }));
}

const fmt = (n: number, digits = 0): string => {
  if (!Number.isFinite(n)) return '–';
  return digits > 0 ? n.toFixed(digits) : Math.round(n).toLocaleString('en-US');
};
const ratio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');

const HEADER = [
  'contender',
  'req/s',
  'p50 ms',
  'p99 ms',
  '× direct',
  '× fast-gateway',
  'proxy CPU µs/req',
  'CPU-bound req/s',
  'load-gen CPU',
  'non-2xx',
  'errors',
];

function cells(r: Row): string[] {
  return [
    r.label,
    fmt(r.rps),
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    ratio(r.vsDirect),
    ratio(r.vsFastGateway),
    fmt(r.proxyCpuUsPerReq),
    fmt(r.cpuBoundRps),
    `${fmt(r.clientCpuPct)}%`,
    fmt(r.non2xx),
    fmt(r.errors + r.timeouts),
  ];
}

export function textTable(rows: readonly Row[], skipped: readonly Skipped[]): string {
  const body = [HEADER, ...rows.map(cells), ...skipped.map((s) => [s.label, `skipped: ${s.reason}`])];
  const widths = HEADER.map((_, i) =>
    Math.max(...body.filter((b) => b.length > 1).map((b) => (b[i] ?? '').length)),
  );
  const line = (b: string[]) =>
    b.length === 2 && b[1]?.startsWith('skipped')
      ? `${(b[0] ?? '').padEnd(widths[0] ?? 0)}  ${b[1]}`
      : b.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return body.map(line).join('\n');
}

export function markdownTable(rows: readonly Row[], skipped: readonly Skipped[]): string {
  const lines = [
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${cells(r).join(' | ')} |`),
    ...skipped.map((s) => `| ${s.label} | skipped: ${s.reason} |${' |'.repeat(HEADER.length - 2)}`),
  ];
  return lines.join('\n');
}

/** Per-round figures, to show the spread behind each median. */
export function roundsTable(rows: readonly Row[]): string {
  const lines = [
    '| contender | round | req/s | p50 ms | p99 ms | proxy CPU µs/req | other processes CPU | status codes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    for (const round of r.rounds) {
      const codes = Object.entries(round.sample.statusCodes)
        .map(([code, n]) => `${code}: ${n}`)
        .join(', ');
      lines.push(
        `| ${r.label} | ${round.round + 1} | ${fmt(round.sample.rps)} | ${fmt(round.sample.p50, 2)} | ${fmt(round.sample.p99, 2)} | ${fmt(round.proxyCpuUsPerReq)} | ${fmt(round.otherCpuPct)}% | ${codes} |`,
      );
    }
  }
  return lines.join('\n');
}
