import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { replaceGeneratedBlock } from './docs.ts';
import type { Machine } from './machine.ts';
import { type BenchOptions, CONTENDERS } from './options.ts';
import type { Pinning } from './pin.ts';
import { markdownTable, type Row, roundsTable, type Skipped } from './report.ts';

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
const DOCS = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface RunReport {
  readonly machine: Machine;
  readonly options: BenchOptions;
  readonly pinning: Pinning;
  readonly rows: readonly Row[];
  readonly skipped: readonly Skipped[];
  readonly notes: readonly string[];
  /** gatewayRevision() taken when the servers started (the tree may change during a run). */
  readonly revision?: string;
}

/** The command as typed, with the BENCH_* settings that were in force. */
export function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  return [...env, 'npm run bench'].join(' ');
}

/** Which gateway code was measured: the commit, and whether the tree had uncommitted changes. */
export function gatewayRevision(): string {
  const git = (...args: string[]) => spawnSync('git', ['-C', REPO, ...args], { encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'unknown (not a git checkout)';
  const dirty = git('status', '--porcelain', '--', 'packages').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? ' + uncommitted changes under packages/' : ''}`;
}

/**
 * Where a run's figures go: `latest` for a full run with the default EdDSA tokens, `latest-hs256` for
 * a full HS256 run, `partial` for a run of some contenders only, so a quick check never replaces the
 * figures of a full run.
 */
export function resultStem(o: BenchOptions): string {
  const full = o.only.length === CONTENDERS.length;
  return `${full ? 'latest' : 'partial'}${o.alg === 'EdDSA' ? '' : `-${o.alg.toLowerCase()}`}`;
}

/** results/<stem>.json and .md and, when asked (a full run by default), the generated block of docs/benchmarks.md. */
export function writeReport(r: RunReport): void {
  const when = new Date().toISOString();
  const command = commandLine();
  const now = gatewayRevision();
  const revision =
    r.revision === undefined || r.revision === now ? now : `${r.revision} at start (${now} at the end)`;
  const o = r.options;
  const stem = resultStem(o);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(
    join(RESULTS, `${stem}.json`),
    `${JSON.stringify({ date: when, command, ...r, gatewayRevision: revision }, null, 2)}\n`,
  );
  const block = [
    `Run ${when} · \`${command}\` · gateway at ${revision}`,
    '',
    `Machine: ${r.machine.cores} cores (\`nproc\`), ${r.machine.cpuModel}, Linux ${r.machine.kernel}, Node ${r.machine.node}. ` +
      `${o.connections} connections, pipelining ${o.pipelining}, ${o.warmupSeconds} s warm-up each, then ${o.rounds} alternating rounds × ${o.seconds} s; medians over rounds.`,
    '',
    markdownTable(r.rows, r.skipped),
    '',
    ...r.notes.map((n) => `- ${n.split('\n')[0]}`),
    '',
    '<details><summary>Every round</summary>',
    '',
    roundsTable(r.rows),
    '',
    '</details>',
  ].join('\n');
  writeFileSync(join(RESULTS, `${stem}.md`), `# Bench run (${stem})\n\n${block}\n`);
  console.log(`\nwrote ${join(RESULTS, `${stem}.json`)} and ${stem}.md`);
  if (o.writeDocs) {
    const ok = replaceGeneratedBlock(DOCS, block);
    console.log(ok ? `updated ${DOCS}` : `!!! ${DOCS}: generated-block markers not found, not updated`);
  }
}
