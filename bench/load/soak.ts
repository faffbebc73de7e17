import { setTimeout as sleep } from 'node:timers/promises';
import { describeAnswers, drive, ms } from '../lib/drive.ts';
import { check, type LoadRun, type ScenarioOutcome } from '../lib/load-run.ts';
import { mixedRequests, rotatingTokens } from '../lib/platform.ts';
import { scrapeMetrics } from '../lib/prom.ts';
import { median } from '../lib/stats.ts';

/**
 * Soak: a short closed-loop probe finds the maximum throughput; then
 * 10 minutes at 70% of it, with 1,000 users whose tokens are signed anew
 * every 5 minutes, one public request to three authenticated ones. Every
 * 2 s (every 0.5 s in the two minutes compared) the gateway's admin /metrics
 * gives its RSS, heap used and event-loop lag p99 (dense: the heap is a
 * saw-tooth between collections, and sparse samples would move with where
 * they fall on it). Pass: no error, and the memory after a 1-minute warm-up
 * holds: RSS (the median of the last minute against the first minute after
 * the warm-up) and the retained heap (the lowest heap used outside the young
 * generation in each of those minutes: what a leak raises) each within ±10%. Before the probe,
 * every user sends one request, so the probe measures the steady state, not
 * 1,000 first user lookups at once.
 */
export const SECONDS = 600;
const PROBE_S = 15;
const SHARE = 0.7;
const WARMUP_S = 60;
const WINDOW_S = 60;
const SAMPLE_S = 2;
/** Sampling interval inside the first and last windows, where the floor is taken. */
const DENSE_S = 0.5;
/** Requests per second while every user makes its first request (the gateway looks each one up). */
const FIRST_TOUCH_RATE = 250;
const USERS = 1_000;
const ROTATE_S = 300;
const DRIFT = 0.1;

interface Sample {
  readonly t: number;
  readonly rss: number;
  readonly heap: number;
  /** Heap used outside the young generation: without the saw-tooth of young-generation GCs. */
  readonly oldHeap: number;
  readonly lagP99: number;
  /** CPU of other processes since the previous sample, % of one core. */
  readonly otherCpuPct: number;
}

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

export async function soak(run: LoadRun): Promise<ScenarioOutcome> {
  const seconds = run.seconds(SECONDS, 20);
  // The warm-up and the two windows scale with the run, so a short run still has all three.
  const warmup = (seconds * WARMUP_S) / SECONDS;
  const window = (seconds * WINDOW_S) / SECONDS;
  const every = Math.max(1, (seconds * SAMPLE_S) / SECONDS);
  const p = await run.platform({});
  const registering = performance.now();
  const users = await p.registerUsers(USERS);
  run.log(`${users.length} users registered in ${((performance.now() - registering) / 1000).toFixed(1)} s`);
  const tokens = rotatingTokens(p.signer, users, run.seconds(ROTATE_S, 5) * 1000);
  const requests = mixedRequests(tokens.next);
  const admin = p.gateway.adminUrl as string;

  // One request per user (3 in 4 requests carry a token), at a pace the user lookups can follow.
  const touch = await drive({
    url: p.gateway.url,
    requests,
    seconds: Math.ceil((users.length * 4) / 3 / FIRST_TOUCH_RATE) + 1,
    rate: FIRST_TOUCH_RATE,
  });
  run.log(
    `first request of every user at ${FIRST_TOUCH_RATE} req/s: p99 ${ms(touch.latency.p99)}, ${describeAnswers(touch)}`,
  );
  const probe = await drive({
    url: p.gateway.url,
    requests,
    seconds: run.seconds(PROBE_S, 3),
    connections: 50,
  });
  const rate = Math.max(10, Math.round(probe.expectedRate * SHARE));
  run.log(
    `max-rate probe: ${Math.round(probe.expectedRate)} 2xx/s (p99 ${ms(probe.latency.p99)}, ${describeAnswers(probe)}); soaking at ${rate} req/s for ${seconds} s`,
  );

  const samples: Sample[] = [];
  const otherCpu = run.otherCpuMeter();
  let done = false;
  const started = performance.now();
  const sampler = (async () => {
    while (!done) {
      try {
        const m = await scrapeMetrics(admin);
        const heap = m.value('nodejs_heap_size_used_bytes') ?? Number.NaN;
        samples.push({
          t: (performance.now() - started) / 1000,
          rss: m.value('process_resident_memory_bytes') ?? Number.NaN,
          heap,
          oldHeap: heap - (m.value('nodejs_heap_space_size_used_bytes', { space: 'new' }) ?? Number.NaN),
          lagP99: (m.value('nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000,
          otherCpuPct: otherCpu(),
        });
      } catch (err) {
        run.log(`metrics sample failed: ${(err as Error).message}`);
      }
      // In the two judged windows, every DENSE_S: the old generation grows by several MiB between
      // 2 s samples (promoted garbage until the next full collection), so a sparse floor is noisy.
      const t = (performance.now() - started) / 1000;
      const judged = (t >= warmup - every && t < warmup + window) || t >= seconds - window - every;
      await sleep((judged ? DENSE_S : every) * 1000);
    }
  })();
  // What the gateway holds on purpose (bounded caches), at the end of each window compared.
  const caches = async () => {
    const h = (await (await fetch(`${admin}/health`, { signal: AbortSignal.timeout(5_000) })).json()) as {
      tokens?: { cachedTokens?: number };
      userLookups?: { cached?: number };
    };
    return { tokens: h.tokens?.cachedTokens ?? Number.NaN, users: h.userLookups?.cached ?? Number.NaN };
  };
  const cachesFirst = sleep((warmup + window) * 1000).then(() => caches().catch(() => undefined));
  const r = await drive({ url: p.gateway.url, requests, seconds, rate });
  const cachesLast = await caches().catch(() => undefined);
  done = true;
  await sampler;

  const inWindow = (from: number, to: number) => samples.filter((s) => s.t >= from && s.t <= to);
  const first = inWindow(warmup, warmup + window);
  const last = inWindow(seconds - window, seconds + every);
  const drift = (pick: (s: Sample) => number, of: (values: number[]) => number = median) => {
    const a = of(first.map(pick));
    const b = of(last.map(pick));
    return { first: a, last: b, change: (b - a) / a };
  };
  const rss = drift((s) => s.rss);
  // Heap used is a saw-tooth between collections (its median moves with where the samples fall);
  // what a leak raises is its floor. Most of the saw-tooth is the young generation (tens of MiB
  // between scavenges, so a 2 s sample lands anywhere on it): the floor is taken of the heap outside
  // it, the lowest sample of each window.
  const heap = drift(
    (s) => s.oldHeap,
    (values) => Math.min(...values),
  );
  const lags = samples.map((s) => s.lagP99);
  const lag = { median: median(lags), max: Math.max(...lags.filter((v) => Number.isFinite(v))) };
  const busiest = samples
    .filter((s) => Number.isFinite(s.otherCpuPct))
    .reduce<Sample | undefined>(
      (a, b) => (a === undefined || b.otherCpuPct > a.otherCpuPct ? b : a),
      undefined,
    );
  if (busiest !== undefined) {
    run.log(
      `other processes: at most ${Math.round(busiest.otherCpuPct)}% of a core between two samples (at ${Math.round(busiest.t)} s)`,
    );
  }
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
  run.log(
    `${samples.length} samples: RSS ${mib(rss.first)} → ${mib(rss.last)}, retained heap ${mib(heap.first)} → ${mib(heap.last)}, event-loop lag p99 median ${ms(lag.median)}, max ${ms(lag.max)}`,
  );
  const enough = first.length >= 2 && last.length >= 2;
  const held = { first: await cachesFirst, last: cachesLast };
  const cached = `cached tokens ${held.first?.tokens} → ${held.last?.tokens}, cached users ${held.first?.users} → ${held.last?.users}`;
  run.log(cached);
  return {
    figures: `max ${Math.round(probe.expectedRate)} req/s, soaked ${seconds} s at ${Math.round(r.answeredRate)} req/s (${r.answered} requests, ${tokens.signed()} tokens for ${users.length} users), ${r.failures} errors, p99 ${ms(r.latency.p99)}; RSS ${mib(rss.first)} → ${mib(rss.last)} (${pct(rss.change)}), retained heap ${mib(heap.first)} → ${mib(heap.last)} (${pct(heap.change)}); ${cached}; event-loop lag p99 median ${ms(lag.median)}, max ${ms(lag.max)}`,
    bound: `${SHARE * 100}% of max for ${seconds} s: 0 errors; RSS (median) and retained heap (the lowest heap used outside the young generation) of the last ${window} s vs the first ${window} s after a ${warmup} s warm-up within ±${DRIFT * 100}%`,
    checks: [
      check('no errors', r.failures === 0 && r.answered > 0, describeAnswers(r)),
      check(
        `the rate was offered (≥ 95% of ${rate} req/s answered)`,
        r.answeredRate >= 0.95 * rate,
        `${r.answeredRate.toFixed(1)} req/s`,
      ),
      check('enough memory samples in both windows', enough, `${first.length} and ${last.length} samples`),
      check(
        `RSS within ±${DRIFT * 100}%`,
        enough && Math.abs(rss.change) <= DRIFT,
        `${mib(rss.first)} → ${mib(rss.last)} (${pct(rss.change)})`,
      ),
      check(
        `retained heap within ±${DRIFT * 100}%`,
        enough && Math.abs(heap.change) <= DRIFT,
        `${mib(heap.first)} → ${mib(heap.last)} (${pct(heap.change)})`,
      ),
    ],
    setup: [
      `max-rate probe: closed loop, 50 connections, ${run.seconds(PROBE_S, 3)} s; soak at ${SHARE * 100}% of it; ${users.length} users registered with the identity service, tokens signed by the bench key and re-signed every ${run.seconds(ROTATE_S, 5)} s; 1 public to 3 authenticated requests; /metrics sampled every ${every} s, every ${DENSE_S} s in the two windows compared`,
    ],
    data: {
      probe,
      rate,
      seconds,
      warmup,
      window,
      result: r,
      samples,
      rss,
      heap,
      held,
      lag,
      tokensSigned: tokens.signed(),
    },
  };
}
