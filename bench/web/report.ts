import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine } from '../lib/machine.ts';
import { median, sum } from '../lib/stats.ts';
import type { FirstLoad, LoadSample } from './page-load.ts';
import type { SendToScreen } from './send-to-screen.ts';

/** results/web-first-load.json (every sample) and .md (the summary, also printed). */

const RESULTS = join(import.meta.dirname, '..', 'results');
const STEM = 'web-first-load';

/** Issue 14's targets. KB are 1000 bytes. */
export const TARGETS = { gzipBytes: 200_000, firstLoadMs: 1_000, sendToScreenP99Ms: 100 } as const;

export interface JavaScriptFile {
  readonly path: string;
  readonly bytes: number;
  readonly gzipServed: number;
  readonly brotliTransferred: number;
}

export interface WebReport {
  readonly date: string;
  readonly command: string;
  readonly revision: string;
  readonly machine: Machine;
  readonly loadAverage: { readonly atStart: readonly number[]; readonly atEnd: readonly number[] };
  readonly javascript: readonly JavaScriptFile[];
  readonly firstLoad: FirstLoad;
  readonly sendToScreen: SendToScreen;
}

/** Nearest-rank percentile (p in 0–100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
const met = (ok: boolean) => (ok ? 'yes' : '**no**');

function loadSummary(samples: readonly LoadSample[]) {
  const of = (pick: (s: LoadSample) => number) => samples.map(pick);
  return {
    runs: samples.length,
    listShownMs: {
      median: percentile(
        of((s) => s.listShownMs),
        50,
      ),
      min: Math.min(...of((s) => s.listShownMs)),
      max: Math.max(...of((s) => s.listShownMs)),
    },
    htmlReceivedMsMedian: median(of((s) => s.htmlReceivedMs)),
    domContentLoadedMsMedian: median(of((s) => s.domContentLoadedMs)),
    javascriptTransferredBytesMedian: median(of((s) => sum(s.scripts.map((x) => x.transferSize)))),
  };
}

export function summarise(r: WebReport) {
  const latencies = r.sendToScreen.latenciesMs;
  const summary = {
    javascript: {
      files: r.javascript.length,
      bytes: sum(r.javascript.map((f) => f.bytes)),
      gzipServed: sum(r.javascript.map((f) => f.gzipServed)),
      brotliTransferred: sum(r.javascript.map((f) => f.brotliTransferred)),
    },
    firstLoadCold: loadSummary(r.firstLoad.cold),
    firstLoadWarm: loadSummary(r.firstLoad.warm),
    sendToScreen: {
      messages: latencies.length,
      warmup: r.sendToScreen.warmup,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
      postP50: percentile(r.sendToScreen.postMs, 50),
      postP99: percentile(r.sendToScreen.postMs, 99),
    },
  };
  return {
    ...summary,
    targets: {
      ...TARGETS,
      gzipMet: summary.javascript.gzipServed <= TARGETS.gzipBytes,
      firstLoadMet: summary.firstLoadCold.listShownMs.median <= TARGETS.firstLoadMs,
      sendToScreenMet: summary.sendToScreen.p99 <= TARGETS.sendToScreenP99Ms,
    },
  };
}

export function markdown(r: WebReport): string {
  const s = summarise(r);
  const m = r.machine;
  const load = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const c = s.firstLoadCold;
  const t = s.sendToScreen;
  return [
    '# Web app first load (issue 14)',
    '',
    `Run ${r.date} · \`${r.command}\` · code at ${r.revision}`,
    '',
    `Machine: ${m.cores} cores, ${m.cpuModel}, Linux ${m.kernel}, Node ${m.node}; Chromium headless ` +
      `(/usr/bin/chromium). Load average (1/5/15 min) ${load(r.loadAverage.atStart)} at the start, ` +
      `${load(r.loadAverage.atEnd)} at the end.`,
    '',
    '| Measure | Figure | Target | Met |',
    '| --- | --- | --- | --- |',
    `| JavaScript of the chat page, gzip as served | ${kb(s.javascript.gzipServed)} in ${s.javascript.files} file(s) ` +
      `(${kb(s.javascript.bytes)} uncompressed; ${kb(s.javascript.brotliTransferred)} brotli as Chromium got it) ` +
      `| ≤ ${TARGETS.gzipBytes / 1000} KB | ${met(s.targets.gzipMet)} |`,
    `| First load, cold cache: navigation → conversation list | median ${ms(c.listShownMs.median)} ` +
      `(${ms(c.listShownMs.min)}–${ms(c.listShownMs.max)} over ${c.runs}; HTML at ${ms(c.htmlReceivedMsMedian)}, ` +
      `script run at ${ms(c.domContentLoadedMsMedian)}) | ≤ ${TARGETS.firstLoadMs / 1000} s | ${met(s.targets.firstLoadMet)} |`,
    `| Reload, warm cache (same measure) | median ${ms(s.firstLoadWarm.listShownMs.median)} ` +
      `(${ms(s.firstLoadWarm.listShownMs.min)}–${ms(s.firstLoadWarm.listShownMs.max)}) | | |`,
    `| Send → the other browser's screen, ${t.messages} messages | p50 ${ms(t.p50)} · p90 ${ms(t.p90)} · ` +
      `p99 ${ms(t.p99)} · max ${ms(t.max)} | p99 ≤ ${TARGETS.sendToScreenP99Ms} ms | ${met(s.targets.sendToScreenMet)} |`,
    `| … of which the sender's POST (to 201) | p50 ${ms(t.postP50)} · p99 ${ms(t.postP99)} | | |`,
    '',
  ].join('\n');
}

/** Writes both files and returns the markdown. */
export function writeWebReport(r: WebReport): string {
  mkdirSync(RESULTS, { recursive: true });
  const md = markdown(r);
  writeFileSync(
    join(RESULTS, `${STEM}.json`),
    `${JSON.stringify({ ...r, summary: summarise(r) }, null, 2)}\n`,
  );
  writeFileSync(join(RESULTS, `${STEM}.md`), md);
  return `${md}\nwrote ${join(RESULTS, `${STEM}.json`)} and ${STEM}.md`;
}
