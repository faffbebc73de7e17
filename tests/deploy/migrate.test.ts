import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { parse } from 'yaml';
import { ROOT } from './helm.ts';

/**
 * deploy/docker/migrate.ts, the chart's migration Job (`node /app/migrate.ts`): for every service
 * the chart marks `database: true`, it applies that service's migrations to a real PostgreSQL
 * database and a second run finds nothing to do. Refuses to run without DATABASE_URL.
 */

const url = process.env.GATEHOUSE_TEST_POSTGRES_URL;
const skip =
  url === undefined ? 'SKIPPED (Postgres not installed): GATEHOUSE_TEST_POSTGRES_URL is not set' : false;
const values = parse(readFileSync(join(ROOT, 'deploy/helm/gatehouse/values.yaml'), 'utf8'));
const withDatabase = Object.entries<{ database: boolean; migrate?: { command: string[] } }>(values.services)
  .filter(([, s]) => s.database)
  .map(([name]) => name);

function migrate(env: Record<string, string>) {
  const result = spawnSync(process.execPath, [join(ROOT, 'deploy/docker/migrate.ts')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return { status: result.status ?? 1, out: `${result.stdout}${result.stderr}` };
}

describe('migration entry point (deploy/docker/migrate.ts)', () => {
  it('is what every database service of the chart runs, and each has migrations', () => {
    assert.deepEqual(withDatabase.sort(), ['auth', 'billing', 'chat']);
    for (const name of withDatabase) {
      assert.deepEqual(values.services[name].migrate.command, ['node', '/app/migrate.ts']);
      assert.ok(
        existsSync(join(ROOT, 'packages', name, 'src/db/migrations')),
        `${name} has no migrations folder`,
      );
    }
  });

  it('refuses to run without DATABASE_URL (no PGlite fallback)', () => {
    const result = migrate({ GATEHOUSE_SERVICE: 'chat' });
    assert.equal(result.status, 2);
    assert.match(result.out, /DATABASE_URL are required/);
  });

  it("applies each service's migrations to its own database, then has nothing left to do", {
    skip,
    timeout: 120_000,
  }, async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const databases: string[] = [];
    try {
      for (const service of withDatabase) {
        const database = `gatehouse_migrate_${service}_${randomBytes(3).toString('hex')}`;
        await admin.query(`create database ${database}`);
        databases.push(database);
        const target = new URL(url as string);
        target.pathname = `/${database}`;
        const first = migrate({ GATEHOUSE_SERVICE: service, DATABASE_URL: target.toString() });
        assert.equal(first.status, 0, first.out);
        assert.match(first.out, new RegExp(`^${service}: .*applied [1-9]\\d* \\(`));
        const second = migrate({ GATEHOUSE_SERVICE: service, DATABASE_URL: target.toString() });
        assert.equal(second.status, 0, second.out);
        assert.match(second.out, /applied 0 \(none\)/);
      }
    } finally {
      for (const database of databases) await admin.query(`drop database if exists ${database} with (force)`);
      await admin.end();
    }
  });
});
