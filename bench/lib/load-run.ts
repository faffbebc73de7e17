import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from '../servers/server.ts';
import { cpuMs, selfCpuMs } from './cpu.ts';
import type { Machine } from './machine.ts';
import type { Pinning } from './pin.ts';
import { type Platform, type PlatformSpec, startPlatform } from './platform.ts';

/**
 * What every load scenario (bench/load/) gets and gives back: scaled
 * durations, a scratch directory, the processes it started (stopped at the
 * end, on failure and on Ctrl-C too), and its checks; the runner writes
 * results/load-<scenario>.json and results/load-summary.md from them.
 */
export interface Check {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ScenarioOutcome {
  /** The figures of the one-line summary. */
  readonly figures: string;
  /** What must hold, in words. */
  readonly bound: string;
  readonly checks: readonly Check[];
  /** How the platform was configured for this scenario (anything not the default). */
  readonly setup: readonly string[];
  /** Everything measured, for the JSON file. */
  readonly data: Record<string, unknown>;
}

export interface ScenarioResult extends ScenarioOutcome {
  readonly scenario: string;
  readonly pass: boolean;
  readonly date: string;
  readonly wallSeconds: number;
  /** CPU used meanwhile by other processes than the bench and its servers, % of one core on average. */
  readonly otherCpuPct: number;
}

export interface LoadSettings {
  readonly scale: number;
  readonly pinning: Pinning;
  /** LOG_LEVEL of the gateways (the access log is on either way). */
  readonly logLevel: string;
}

export class LoadRun {
  readonly scenario: string;
  readonly settings: LoadSettings;
  readonly dir: string;
  readonly servers: Server[] = [];
  /** Keep the scratch directory (logs, configs) when something went wrong. */
  keep = false;
  /** CPU ms of each server process when last seen: a server stopped meanwhile keeps it. */
  readonly #serverCpu = new Map<number, number>();
  readonly #watch: NodeJS.Timeout;

  constructor(scenario: string, settings: LoadSettings) {
    this.scenario = scenario;
    this.settings = settings;
    this.dir = mkdtempSync(join(tmpdir(), `gatehouse-load-${scenario}-`));
    this.#watch = setInterval(() => this.#serversCpuMs(), 1_000).unref();
  }

  #serversCpuMs(): number {
    for (const pid of this.servers.flatMap((s) => s.pids())) {
      const ms = cpuMs([pid]);
      if (ms > 0) this.#serverCpu.set(pid, ms);
    }
    let total = 0;
    for (const ms of this.#serverCpu.values()) total += ms;
    return total;
  }

  /** A duration of the scenario's spec, scaled by LOAD_SCALE, never below `min` seconds. */
  seconds(spec: number, min = 2): number {
    return Math.max(min, Math.round(spec * this.settings.scale * 10) / 10);
  }

  platform(spec: Omit<PlatformSpec, 'logLevel'>): Promise<Platform> {
    return startPlatform(
      { pinning: this.settings.pinning, dir: this.dir },
      { ...spec, logLevel: this.settings.logLevel },
      this.servers,
    );
  }

  /**
   * CPU used by everything but this process and the scenario's servers since the last reading,
   * % of one core: the machine is shared, and a busy neighbour shows in latencies.
   */
  otherCpuMeter(): () => number {
    const read = () => ({
      at: performance.now(),
      machine: processCpuMs(),
      ours: selfCpuMs() + this.#serversCpuMs(),
    });
    let last = read();
    return () => {
      const now = read();
      const elapsed = now.at - last.at;
      if (elapsed < 500) return Number.NaN;
      const other = now.machine - last.machine - (now.ours - last.ours);
      last = now;
      return (Math.max(0, other) / elapsed) * 100;
    };
  }

  log(line: string): void {
    console.log(`  · ${line}`);
  }

  async stopAll(): Promise<void> {
    clearInterval(this.#watch);
    const servers = this.servers.splice(0);
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    if (this.keep) console.log(`  logs and configs kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * CPU milliseconds the machine's processes have used (user, nice, system, from /proc/stat), or NaN
 * off Linux. Interrupt time is left out: loopback traffic is handled there for whoever sends it, and
 * at thousands of requests a second it would show as another process.
 */
function processCpuMs(): number {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
    return (Number(fields[1]) + Number(fields[2]) + Number(fields[3])) * 10;
  } catch {
    return Number.NaN;
  }
}

export const check = (what: string, ok: boolean, detail: string): Check => ({ what, ok, detail });

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

/** The command as typed, with the LOAD_* and BENCH_* settings in force. */
export function loadCommand(): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('LOAD_') || k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  return [...env, 'npm run load'].join(' ');
}

export interface RunInfo {
  readonly machine: Machine;
  readonly settings: LoadSettings;
  readonly command: string;
  readonly revision: string;
}

/** What results/load-<scenario>.json holds: the result and how it was run. */
export interface StoredResult extends ScenarioResult {
  readonly command: string;
  readonly machine: Machine;
  readonly gatewayRevision: string;
  readonly scale: number;
  readonly pinning: Pinning;
  readonly gatewayLogLevel: string;
}

const resultFile = (scenario: string) => join(RESULTS, `load-${scenario}.json`);

export function writeScenarioResult(r: ScenarioResult, info: RunInfo): string {
  mkdirSync(RESULTS, { recursive: true });
  const stored: StoredResult = {
    ...r,
    command: info.command,
    machine: info.machine,
    gatewayRevision: info.revision,
    scale: info.settings.scale,
    pinning: info.settings.pinning,
    gatewayLogLevel: info.settings.logLevel,
  };
  writeFileSync(resultFile(r.scenario), `${JSON.stringify(stored, null, 2)}\n`);
  return resultFile(r.scenario);
}

function readScenarioResult(scenario: string): StoredResult | undefined {
  try {
    return JSON.parse(readFileSync(resultFile(scenario), 'utf8')) as StoredResult;
  } catch {
    return undefined;
  }
}

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/**
 * The table for docs/benchmarks.md: the latest result of every scenario (a run of some scenarios
 * keeps the others' rows from earlier runs; each row says when, where and at which scale).
 */
export function summaryMarkdown(rows: readonly StoredResult[], info: RunInfo): string {
  const table = rows.map((r) => {
    const m = r.machine;
    return `| ${r.scenario} | ${cell(r.bound)} | ${cell(r.figures)} | ${r.pass ? 'PASS' : '**FAIL**'} | ${cell(m.cpuModel)}, ${m.cores} cores, Node ${m.node} | ${r.date.slice(0, 16).replace('T', ' ')} UTC | ×${r.scale} | ${Number.isFinite(r.otherCpuPct) ? `${Math.round(r.otherCpuPct)}%` : '–'} |`;
  });
  const notes = rows.flatMap((r) =>
    r.setup.map(
      (s) =>
        `- ${r.scenario}: ${cell(s)} (\`${r.command}\`, gateway at ${r.gatewayRevision}, LOG_LEVEL=${r.gatewayLogLevel}, pinning ${r.pinning.enabled ? 'on' : 'off'})`,
    ),
  );
  const failed = rows.flatMap((r) =>
    r.checks.filter((c) => !c.ok).map((c) => `- ${r.scenario}: ${cell(c.what)}: ${cell(c.detail)}`),
  );
  return [
    `Latest result of each scenario (\`npm run load\`; figures in \`bench/results/load-<scenario>.json\`). Written by \`${info.command}\` on ${new Date().toISOString()}.`,
    '',
    '| scenario | bound | measured | result | machine | date | scale | other processes |',
    '| --- | --- | --- | --- | --- | --- | ---: | ---: |',
    ...table,
    '',
    '“scale”: every duration × LOAD_SCALE (×1 is the spec: 5 min baseline, 10 min soak). “other processes”: CPU used during the scenario by processes other than the load generator and the servers it started, in % of one core (the machine is shared; a busy neighbour shows in latencies).',
    '',
    ...(failed.length === 0 ? [] : ['Failed checks:', '', ...failed, '']),
    'Set-up:',
    '',
    ...notes,
  ].join('\n');
}

/** results/load-summary.md from the result files of `scenarios` (in this order) that exist. */
export function writeSummary(scenarios: readonly string[], info: RunInfo): string {
  const rows = scenarios.map(readScenarioResult).filter((r): r is StoredResult => r !== undefined);
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, 'load-summary.md');
  writeFileSync(file, `# Load scenarios\n\n${summaryMarkdown(rows, info)}\n`);
  return file;
}
