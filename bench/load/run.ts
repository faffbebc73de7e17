import {
  LoadRun,
  type LoadSettings,
  loadCommand,
  type RunInfo,
  type ScenarioOutcome,
  type ScenarioResult,
  writeScenarioResult,
  writeSummary,
} from '../lib/load-run.ts';
import { describeMachine } from '../lib/machine.ts';
import { gatewayRevision } from '../lib/output.ts';
import { setUpPinning } from '../lib/pin.ts';
import { auth } from './auth.ts';
import { baseline } from './baseline.ts';
import { failingUpstream } from './failing-upstream.ts';
import { rateLimits } from './rate-limits.ts';
import { shutdown } from './shutdown.ts';
import { soak } from './soak.ts';
import { stress } from './stress.ts';

/**
 * `npm run load` (root) → `npm --prefix bench run load` → `node load/run.ts`:
 * the load scenarios of issue 6 against the full platform (gateway, identity
 * service, Redis, upstreams), in order, each on a platform of its own, all on
 * 127.0.0.1. Each prints `PASS|FAIL <scenario>: <figures> (bound: …)` and
 * writes results/load-<scenario>.json; the run writes results/load-summary.md.
 * Exit code 1 when any scenario fails.
 *
 *   LOAD_ONLY=baseline,stress   a subset (names below)
 *   LOAD_SCALE=0.1              every duration × 0.1 (the 5-minute baseline takes 30 s)
 *   LOAD_PIN=0                  no CPU pinning (default: load generator on CPU 0, servers on CPU 1)
 *   LOAD_LOG_LEVEL=warn         the gateways' LOG_LEVEL (default info: an access-log line per request)
 *   LOAD_FAILURE=down|fail|hang how the failing upstream fails (default down)
 */
const SCENARIOS: Record<string, (run: LoadRun) => Promise<ScenarioOutcome>> = {
  baseline,
  stress,
  auth,
  'failing-upstream': failingUpstream,
  'rate-limits': rateLimits,
  shutdown,
  soak,
};

function readSettings(): { names: string[]; settings: Omit<LoadSettings, 'pinning'>; pin: boolean } {
  const only = (process.env.LOAD_ONLY ?? '').trim();
  const names = only === '' ? Object.keys(SCENARIOS) : only.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(n in SCENARIOS))
      throw new Error(`LOAD_ONLY: unknown scenario "${n}" (known: ${Object.keys(SCENARIOS).join(', ')})`);
  }
  const scale = Number(process.env.LOAD_SCALE ?? 1);
  if (!(scale > 0 && scale <= 10))
    throw new Error(`LOAD_SCALE must be a number in (0, 10], got "${process.env.LOAD_SCALE}"`);
  const logLevel = process.env.LOAD_LOG_LEVEL ?? 'info';
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(logLevel)) throw new Error(`LOAD_LOG_LEVEL must be one of ${levels.join(', ')}`);
  const pin = !['0', 'false', 'no', 'off'].includes((process.env.LOAD_PIN ?? '1').toLowerCase());
  // In the order of the spec, whatever the order in LOAD_ONLY.
  return {
    names: Object.keys(SCENARIOS).filter((n) => names.includes(n)),
    settings: { scale, logLevel },
    pin,
  };
}

const { names, settings: partial, pin } = readSettings();
const machine = describeMachine();
const settings: LoadSettings = { ...partial, pinning: setUpPinning(pin, machine.cores) };
const info: RunInfo = { machine, settings, command: loadCommand(), revision: gatewayRevision() };
console.log(
  `Gatehouse load scenarios · ${machine.cores} cores · ${machine.cpuModel} · node ${machine.node} · durations × ${settings.scale}`,
);
console.log(
  `pinning: ${settings.pinning.enabled ? settings.pinning.reason : `OFF (${settings.pinning.reason})`}`,
);
console.log(`scenarios: ${names.join(', ')}\n`);

let current: LoadRun | undefined;
const onSignal = (signal: string) => {
  console.log(`\n${signal}: stopping every process started…`);
  const stopping = current?.stopAll() ?? Promise.resolve();
  void stopping.finally(() => process.exit(130));
};
process.once('SIGINT', () => onSignal('SIGINT'));
process.once('SIGTERM', () => onSignal('SIGTERM'));

const results: ScenarioResult[] = [];
for (const name of names) {
  const run = new LoadRun(name, settings);
  current = run;
  const date = new Date().toISOString();
  const started = performance.now();
  const otherCpu = run.otherCpuMeter();
  console.log(`${name}:`);
  let outcome: ScenarioOutcome;
  try {
    outcome = await (SCENARIOS[name] as (run: LoadRun) => Promise<ScenarioOutcome>)(run);
  } catch (err) {
    run.keep = true;
    const message = (err as Error).stack ?? String(err);
    outcome = {
      figures: `did not complete: ${(err as Error).message.split('\n')[0]}`,
      bound: 'the scenario runs to the end',
      checks: [{ what: 'the scenario ran to the end', ok: false, detail: message }],
      setup: [],
      data: {},
    };
  }
  const pass = outcome.checks.length > 0 && outcome.checks.every((c) => c.ok);
  const otherCpuPct = otherCpu();
  for (const c of outcome.checks)
    console.log(`    ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}: ${c.detail.split('\n')[0]}`);
  console.log(`${pass ? 'PASS' : 'FAIL'} ${name}: ${outcome.figures} (bound: ${outcome.bound})`);
  console.log(`  other processes used ${Math.round(otherCpuPct)}% of a core meanwhile`);
  if (!pass) run.keep = true;
  await run.stopAll();
  current = undefined;
  const result: ScenarioResult = {
    scenario: name,
    pass,
    date,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    otherCpuPct,
    ...outcome,
  };
  results.push(result);
  const file = writeScenarioResult(result, info);
  console.log(`  (${result.wallSeconds} s; ${file})\n`);
}

const summary = writeSummary(Object.keys(SCENARIOS), info);
const failed = results.filter((r) => !r.pass);
console.log(`${results.length - failed.length} passed, ${failed.length} failed; summary in ${summary}`);
// Exit now: a stopped child leaves its 10 s kill timer (lib/child.ts) holding the event loop.
process.exit(failed.length > 0 ? 1 : 0);
