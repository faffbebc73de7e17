import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helm.ts';

/**
 * scripts/restore-drill.ts, small, against the test run's PostgreSQL server: the drill of
 * docs/disaster-recovery.md keeps working as the schema changes (a migration pg_restore
 * cannot replay, a table the fingerprint misses, a login that breaks after restore all fail here).
 */

const url = process.env.GATEHOUSE_TEST_POSTGRES_URL;
const skip =
  url === undefined ? 'SKIPPED (Postgres not installed): GATEHOUSE_TEST_POSTGRES_URL is not set' : false;

describe('restore drill (auth database)', () => {
  it('backs up, drops, restores, and the service signs the user in again', { skip, timeout: 120_000 }, () => {
    const result = spawnSync(
      process.execPath,
      [join(ROOT, 'scripts/restore-drill.ts'), '--admin-url', url as string, '--users', '300', '--json'],
      { encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test' } },
    );
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
    assert.equal(report.ok, true);
    assert.match(report.tables.users, /^301 rows [0-9a-f]{32}$/);
    assert.match(report.tables.schema_migrations, /^\d+ rows /);
    assert.ok(report.dumpBytes > 0);
    assert.ok(report.restoreMs > 0);
  });
});
