import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Database, openPglite, openPostgres, runMigrations } from './index.ts';

const postgresUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;

interface Backend {
  readonly name: string;
  readonly skip: string | false;
  open(): Promise<Database>;
}

const schemas: string[] = [];
const backends: Backend[] = [
  { name: 'pglite (memory)', skip: false, open: () => openPglite(undefined) },
  {
    name: 'postgres',
    skip:
      postgresUrl === undefined
        ? 'SKIPPED (Postgres not installed): GATEHOUSE_TEST_POSTGRES_URL is not set'
        : false,
    open: () => {
      const schema = `kit_test_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      return openPostgres({ url: postgresUrl as string, schema });
    },
  },
];

after(async () => {
  if (postgresUrl === undefined || schemas.length === 0) return;
  const admin = await openPostgres({ url: postgresUrl });
  for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`);
  await admin.close();
});

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

for (const backend of backends) {
  describe(`database: ${backend.name}`, { skip: backend.skip }, () => {
    test('parameters are values, never SQL', async () => {
      const db = await backend.open();
      try {
        await db.execScript('create table t (name text not null)');
        const attack = "x'); drop table t; --";
        await db.query('insert into t (name) values ($1)', [attack]);
        const rows = await db.query<{ name: string }>('select name from t where name = $1', [attack]);
        assert.deepEqual(rows.rows, [{ name: attack }]);
        assert.equal(rows.rowCount, 1);
        const updated = await db.query('update t set name = $1', ['y']);
        assert.equal(updated.rowCount, 1);
      } finally {
        await db.close();
      }
    });

    test('a transaction commits on success and rolls back when the function throws', async () => {
      const db = await backend.open();
      try {
        await db.execScript('create table n (v int not null)');
        await db.transaction(async (tx) => {
          await tx.query('insert into n (v) values ($1)', [1]);
        });
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.query('insert into n (v) values ($1)', [2]);
            throw new Error('boom');
          }),
          /boom/,
        );
        const rows = await db.query<{ v: number }>('select v from n order by v');
        assert.deepEqual(
          rows.rows.map((r) => r.v),
          [1],
        );
        assert.equal(await db.ping(), true);
      } finally {
        await db.close();
      }
    });

    test('migrations run once, in order, recorded in schema_migrations', async () => {
      const db = await backend.open();
      const dir = migrationsDir({
        '20260101000000-first.sql': 'create table a (id int primary key);\ncreate table b (id int);',
        '20260102000000-second.sql': 'alter table a add column name text;',
      });
      try {
        const first = await runMigrations(db, dir);
        assert.deepEqual(first.applied, ['20260101000000-first', '20260102000000-second']);
        const second = await runMigrations(db, dir);
        assert.deepEqual(second, { applied: [], alreadyApplied: 2 });
        const rows = await db.query<{ id: string }>('select id from schema_migrations order by id');
        assert.equal(rows.rows.length, 2);
        await db.query('insert into a (id, name) values ($1, $2)', [1, 'x']);
      } finally {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a landed migration that was edited stops the run', async () => {
      const db = await backend.open();
      const dir = migrationsDir({ '20260101000000-first.sql': 'create table c (id int);' });
      try {
        await runMigrations(db, dir);
        writeFileSync(join(dir, '20260101000000-first.sql'), 'create table c (id bigint);');
        await assert.rejects(runMigrations(db, dir), /was changed after it was applied/);
      } finally {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a failing migration leaves nothing behind', async () => {
      const db = await backend.open();
      const dir = migrationsDir({
        '20260101000000-bad.sql': 'create table d (id int);\nselect * from missing;',
      });
      try {
        await assert.rejects(runMigrations(db, dir));
        const rows = await db.query('select id from schema_migrations');
        assert.equal(rows.rows.length, 0);
        await assert.rejects(db.query('select * from d'));
      } finally {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

test('migration files must be named <timestamp>-<name>.sql', async () => {
  const db = await openPglite(undefined);
  const dir = migrationsDir({ 'init.sql': 'select 1;' });
  try {
    await assert.rejects(runMigrations(db, dir), /<timestamp>-<name>\.sql/);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pglite keeps its data in the data dir across opens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-pglite-'));
  try {
    const first = await openPglite(join(dir, 'db'));
    await first.execScript('create table kept (v text)');
    await first.query('insert into kept values ($1)', ['hello']);
    await first.close();
    const second = await openPglite(join(dir, 'db'));
    const rows = await second.query<{ v: string }>('select v from kept');
    assert.deepEqual(rows.rows, [{ v: 'hello' }]);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
