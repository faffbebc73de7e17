import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { type Backend, startPostgres, startRedis } from './backends.ts';

/**
 * The project's test command (`npm test` runs it after the type check and the
 * linter): starts throwaway Redis and Postgres servers when installed, runs
 * every test file with node's test runner, and with --coverage enforces the
 * coverage thresholds: 85% of lines overall, and every line of the code that
 * decides access.
 */

const COVERAGE_LINES = 85;
const FULLY_COVERED = [
  'packages/gateway/src/routing/normalize-path.ts',
  'packages/gateway/src/stages/identity-firewall.ts',
  'packages/gateway/src/stages/authenticate.ts',
  'packages/gateway/src/stages/authorize.ts',
  // The upgrade path: what decides whether a handshake is tunnelled, and how long a tunnel lives.
  'packages/gateway/src/pipeline/handle-upgrade.ts',
  'packages/gateway/src/websocket/upgrade-gate.ts',
  'packages/gateway/src/websocket/ticket-redeem.ts',
  'packages/gateway/src/websocket/tickets.ts',
  'packages/gateway/src/websocket/tunnel.ts',
  'packages/gateway/src/websocket/tunnels.ts',
];

const coverage = process.argv.includes('--coverage');
const patterns = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files =
  patterns.length > 0
    ? patterns
    : ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'tests/**/*.test.ts'];

function banner(lines: string[]): void {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  process.stdout.write(
    `\n${'!'.repeat(width)}\n${lines.map((l) => `! ${l.padEnd(width - 4)} !`).join('\n')}\n${'!'.repeat(width)}\n\n`,
  );
}

const backends: Backend[] = [];
const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'test' };
for (const start of [startRedis, startPostgres]) {
  const result = await start();
  if (typeof result === 'string') {
    banner([
      `NOT AVAILABLE: ${result}`,
      'Suites that need it will report SKIPPED; CI installs it (.ci/run).',
    ]);
  } else {
    backends.push(result);
    Object.assign(env, result.env);
  }
}
process.stdout.write(
  `test backends: ${backends.length > 0 ? backends.map((b) => b.name).join(', ') : 'none'}; always: PGlite, in-memory stores\n`,
);

const args = ['--test', '--test-concurrency=4', '--test-timeout=120000'];
if (coverage) {
  mkdirSync('coverage', { recursive: true });
  args.push(
    '--experimental-test-coverage',
    '--test-coverage-include=packages/*/src/**/*.ts',
    '--test-coverage-exclude=**/*.test.ts',
    '--test-coverage-exclude=packages/*/src/testing.ts',
    `--test-coverage-lines=${COVERAGE_LINES}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=lcov',
    '--test-reporter-destination=coverage/lcov.info',
  );
}
const result = spawnSync(process.execPath, [...args, ...files], { stdio: 'inherit', env });
for (const backend of backends) backend.stop();

let code = result.status ?? 1;
if (coverage && code === 0) code = checkFullCoverage();
process.exit(code);

/** Every line of the access-deciding files must be covered (lcov from the run above). */
function checkFullCoverage(): number {
  const lcov = readFileSync('coverage/lcov.info', 'utf8');
  const failures: string[] = [];
  for (const file of FULLY_COVERED) {
    const record = lcov
      .split('end_of_record')
      .find((r) => r.includes(`SF:${file}\n`) || r.includes(`SF:${process.cwd()}/${file}\n`));
    if (record === undefined) {
      failures.push(`${file}: not in the coverage report`);
      continue;
    }
    const missed = [...record.matchAll(/^DA:(\d+),0$/gm)].map((m) => m[1]);
    if (missed.length > 0) failures.push(`${file}: lines not covered: ${missed.join(', ')}`);
  }
  if (failures.length > 0) {
    process.stdout.write(
      `\ncoverage gate FAILED (every line of the access-deciding stages):\n  ${failures.join('\n  ')}\n`,
    );
    return 1;
  }
  process.stdout.write(
    `\ncoverage gate: ${COVERAGE_LINES}% lines overall; 100% lines of ${FULLY_COVERED.length} access-deciding files\n`,
  );
  return 0;
}
