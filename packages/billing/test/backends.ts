import { randomBytes } from 'node:crypto';
import { type Database, openPglite, openPostgres } from '@gatehouse/kit/service';
import { migrate } from '../src/db/migrations.ts';

export interface TestBackend {
  readonly name: string;
  readonly skip: string | false;
  /** A migrated database; `close` drops what the test made. */
  open(): Promise<{ db: Database; close(): Promise<void> }>;
}

const postgresUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;

/** PGlite always; Postgres (a fresh schema per database, dropped at close) when the test script started one. */
export const BACKENDS: readonly TestBackend[] = [
  {
    name: 'PGlite',
    skip: false,
    async open() {
      const db = await openPglite(undefined);
      await migrate(db);
      return { db, close: () => db.close() };
    },
  },
  {
    name: 'Postgres',
    skip:
      postgresUrl === undefined
        ? 'SKIPPED (Postgres not installed): GATEHOUSE_TEST_POSTGRES_URL is not set'
        : false,
    async open() {
      const schema = `billing_test_${randomBytes(6).toString('hex')}`;
      const db = await openPostgres({ url: postgresUrl as string, schema });
      await migrate(db);
      return {
        db,
        async close() {
          await db.query(`drop schema ${schema} cascade`);
          await db.close();
        },
      };
    },
  },
];
