import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from './types.ts';

/** `<timestamp>-<name>.sql`, e.g. `20261123190000-init.sql`. */
export const MIGRATION_FILE = /^(\d{14})-([a-z0-9][a-z0-9-]*)\.sql$/;

export interface Migration {
  readonly id: string;
  readonly file: string;
  readonly sql: string;
  readonly checksum: string;
}

export function loadMigrations(dir: string): Migration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql'));
  const bad = files.filter((f) => !MIGRATION_FILE.test(f));
  if (bad.length > 0)
    throw new Error(`migrations: file names must be <timestamp>-<name>.sql: ${bad.join(', ')}`);
  return files.sort().map((file) => {
    const sql = readFileSync(join(dir, file), 'utf8');
    return {
      id: file.replace(/\.sql$/, ''),
      file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    };
  });
}

export interface MigrationReport {
  readonly applied: string[];
  readonly alreadyApplied: number;
}

interface AppliedRow {
  id: string;
  checksum: string;
}

/**
 * Applies the migrations of `dir` that have not run yet, in name order, each in
 * its own transaction, and records them in `schema_migrations`. A migration that
 * landed is never edited: a changed checksum stops the run.
 */
export async function runMigrations(db: Database, dir: string): Promise<MigrationReport> {
  const migrations = loadMigrations(dir);
  await db.execScript(
    `create table if not exists schema_migrations (
       id text primary key,
       checksum text not null,
       applied_at timestamptz not null default now()
     )`,
  );
  const applied: string[] = [];
  let alreadyApplied = 0;
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      // Several replicas may start at once: one runs each migration, the others wait.
      if (db.kind === 'postgres') await tx.query('select pg_advisory_xact_lock($1)', [4_001_777]);
      const found = await tx.query<AppliedRow>('select id, checksum from schema_migrations where id = $1', [
        migration.id,
      ]);
      const row = found.rows[0];
      if (row !== undefined) {
        if (row.checksum !== migration.checksum) {
          throw new Error(
            `migrations: ${migration.file} was changed after it was applied; add a new migration instead`,
          );
        }
        return false;
      }
      await tx.execScript(migration.sql);
      await tx.query('insert into schema_migrations (id, checksum) values ($1, $2)', [
        migration.id,
        migration.checksum,
      ]);
      return true;
    });
    if (done) applied.push(migration.id);
    else alreadyApplied++;
  }
  return { applied, alreadyApplied };
}
