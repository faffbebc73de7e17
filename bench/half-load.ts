import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Contender } from './lib/contest.ts';
import { cpuMs } from './lib/cpu.ts';
import { measure } from './lib/load.ts';
import { describeMachine } from './lib/machine.ts';
import { openLoop } from './lib/open-loop.ts';
import { CONTENDERS, type ContenderId, readOptions } from './lib/options.ts';
import { gatewayRevision } from './lib/output.ts';
import { setUpPinning } from './lib/pin.ts';
import { startAll } from './lib/setup.ts';
import { median } from './lib/stats.ts';
import { createSigner } from './lib/tokens.ts';
import type { Server } from './servers/server.ts';

/**
 * `npm --prefix bench run half-load`: issue 6's "p99 added by the gateway at half of its maximum
 * throughput", for the full pipeline (JWT, revocation, rate limit in Redis, user lookup, identity
 * injection, metrics, access log) and, side by side, for fast-gateway. Each proxy's closed-loop
 * maximum is measured first; then the proxy and the direct call are driven at the same fixed rate
 * (HALF_LOAD_FRACTION of that maximum, 0.5 by default), in alternating rounds, by an even
 * open-loop load (lib/open-loop.ts: latency from the moment each request was due). The p99 added
 * is the median proxy p99 minus the median direct p99 at that rate. The first proxy listed is the
 * one judged. Writes results/half-load.json (or half-load-<fraction>.json).
 */
const ROUNDS = Number(process.env.HALF_LOAD_ROUNDS ?? 3);
const SECONDS = Number(process.env.HALF_LOAD_SECONDS ?? 20);
const FRACTION = Number(process.env.HALF_LOAD_FRACTION ?? 0.5);

interface Figures {
  readonly id: ContenderId;
  readonly label: string;
  readonly maxRps: number;
  readonly rate: number;
  readonly p99: { direct: number[]; proxy: number[] };
  readonly p50: { direct: number[]; proxy: number[] };
  readonly max: { direct: number[]; proxy: number[] };
  /** Proxy CPU per request (µs) in the open-loop rounds. */
  readonly cpuUs: number[];
  /** Share of the server core used by the proxy, the upstream and the proxy's helpers (Redis, identity). */
  readonly serverCoreBusy: number[];
  failures: number;
}

function ids(): ContenderId[] | string {
  // gateway-full (issue 6's "full pipeline") then fast-gateway by default; HALF_LOAD_GATEWAY picks others.
  const wanted = (process.env.HALF_LOAD_GATEWAY ?? 'gateway-full,fast-gateway').split(',').filter(Boolean);
  const known: readonly string[] = CONTENDERS.filter((c) => c !== 'direct');
  const bad = wanted.filter((w) => !known.includes(w));
  if (bad.length > 0 || wanted.length === 0)
    return `HALF_LOAD_GATEWAY=${wanted.join(',')}: use ${known.join(', ')}`;
  return wanted as ContenderId[];
}

async function figuresFor(proxy: Contender, direct: Contender): Promise<Figures> {
  const shape = { connections: 50, pipelining: 1 };
  await proxy.beforeRound?.();
  await measure(proxy.target, 3, shape);
  const max = await measure(proxy.target, 10, shape);
  const rate = Math.round(max.rps * FRACTION);
  console.log(
    `${proxy.label}: maximum ${Math.round(max.rps)} req/s (closed loop, 50 connections); driving it and the direct call at ${rate} req/s`,
  );
  const f: Figures = {
    id: proxy.id,
    label: proxy.label,
    maxRps: max.rps,
    rate,
    p99: { direct: [], proxy: [] },
    p50: { direct: [], proxy: [] },
    max: { direct: [], proxy: [] },
    cpuUs: [],
    serverCoreBusy: [],
    failures: 0,
  };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, c] of [
      ['direct', direct],
      ['proxy', proxy],
    ] as const) {
      await c.beforeRound?.();
      const pids = c.proxy?.pids() ?? [];
      const all = [...pids, ...c.upstream.pids(), ...(c.helpers ?? []).flatMap((h) => h.pids())];
      const [cpu0, all0] = [cpuMs(pids), cpuMs(all)];
      const r = await openLoop(c.target.url, c.target.headers ?? {}, rate, SECONDS);
      if (name === 'proxy') {
        f.cpuUs.push(((cpuMs(pids) - cpu0) * 1000) / Math.max(1, r.ok));
        f.serverCoreBusy.push((cpuMs(all) - all0) / (SECONDS * 1000));
      }
      f.failures += r.failures;
      f.p99[name].push(r.p99);
      f.p50[name].push(r.p50);
      f.max[name].push(r.max);
      console.log(
        `round ${round}/${ROUNDS}  ${(name === 'proxy' ? proxy.id : 'direct').padEnd(14)} ${r.ok} of ${r.sent} 2xx  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(1)} ms  failures ${r.failures}`,
      );
    }
  }
  return f;
}

function verdict(f: Figures): { added: number; line: string; pass: boolean } {
  const added = median(f.p99.proxy) - median(f.p99.direct);
  const pass = added < 1 && f.failures === 0;
  const line =
    `${pass ? 'PASS' : 'FAIL'} ${f.id}: p99 added at ${Math.round(FRACTION * 100)}% of the maximum (${f.rate} of ${Math.round(f.maxRps)} req/s): ` +
    `${added.toFixed(2)} ms (p99 ${median(f.p99.proxy).toFixed(2)} ms, p50 ${median(f.p50.proxy).toFixed(2)} ms, ${median(f.cpuUs).toFixed(0)} µs CPU/req, server core ${Math.round(median(f.serverCoreBusy) * 100)}% busy; ` +
    `direct p99 ${median(f.p99.direct).toFixed(2)} ms, p50 ${median(f.p50.direct).toFixed(2)} ms; ${f.failures} failures) (bound: < 1 ms, 0 failures)`;
  return { added, line, pass };
}

async function main(): Promise<number> {
  const chosen = ids();
  if (typeof chosen === 'string') {
    console.error(`!!! ${chosen}`);
    return 1;
  }
  const o = { ...readOptions(), only: ['direct', ...chosen] as ContenderId[] };
  const machine = describeMachine();
  const pinning = setUpPinning(o.pin, machine.cores);
  const signer = createSigner(o.alg);
  const reused = signer.sign(0);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-half-load-'));
  let servers: Server[] = [];
  try {
    const setup = await startAll(o, { pinning, dir }, signer, { reused, next: () => reused });
    servers = setup.servers;
    const direct = setup.contenders.find((c) => c.id === 'direct');
    const proxies = chosen.map((id) => setup.contenders.find((c) => c.id === id));
    if (direct === undefined || proxies.some((p) => p === undefined)) {
      console.error(`!!! a contender could not start: ${setup.skipped.map((s) => s.reason).join('; ')}`);
      return 1;
    }
    const figures: Figures[] = [];
    for (const proxy of proxies as Contender[]) figures.push(await figuresFor(proxy, direct));
    const verdicts = figures.map(verdict);
    console.log(`\n${verdicts.map((v) => v.line).join('\n')}`);
    const stem = FRACTION === 0.5 ? 'half-load' : `half-load-${FRACTION}`;
    writeFileSync(
      join(import.meta.dirname, 'results', `${stem}.json`),
      `${JSON.stringify({ when: new Date().toISOString(), revision: gatewayRevision(), machine, pinning, rounds: ROUNDS, seconds: SECONDS, fraction: FRACTION, figures: figures.map((f, i) => ({ ...f, addedP99Ms: verdicts[i]?.added, line: verdicts[i]?.line })) }, null, 2)}\n`,
    );
    return verdicts[0]?.pass === true ? 0 : 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
