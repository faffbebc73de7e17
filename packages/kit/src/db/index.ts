import { join } from 'node:path';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';
import { withQuerySpans } from './traced.ts';
import type { Database } from './types.ts';

export {
  loadMigrations,
  MIGRATION_FILE,
  type Migration,
  type MigrationReport,
  runMigrations,
} from './migrate.ts';
export { openPglite } from './pglite.ts';
export { openPostgres, type PostgresOptions } from './postgres.ts';
export type { Database, DatabaseKind, Queryable, QueryResult, SqlParam } from './types.ts';

export type DatabaseConfig =
  | { readonly kind: 'postgres'; readonly url: string; readonly schema?: string | undefined }
  | { readonly kind: 'pglite'; readonly dataDir: string }
  | { readonly kind: 'memory' };

/** A Postgres server when DATABASE_URL is set, else PGlite files under the service's data dir. */
export function databaseConfigFromEnv(databaseUrl: string | undefined, dataDir: string): DatabaseConfig {
  if (databaseUrl !== undefined && databaseUrl !== '') return { kind: 'postgres', url: databaseUrl };
  return { kind: 'pglite', dataDir: join(dataDir, 'db') };
}

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  switch (config.kind) {
    case 'postgres':
      return withQuerySpans(await openPostgres({ url: config.url, schema: config.schema }));
    case 'pglite':
      return withQuerySpans(await openPglite(config.dataDir));
    case 'memory':
      return withQuerySpans(await openPglite(undefined));
  }
}

/** Describes where the data lives, without credentials, for the startup log. */
export function describeDatabase(config: DatabaseConfig): string {
  if (config.kind === 'postgres') {
    try {
      const url = new URL(config.url);
      return `postgres ${url.hostname}:${url.port || '5432'}${url.pathname}`;
    } catch {
      return 'postgres (unparseable url)';
    }
  }
  return config.kind === 'pglite' ? `pglite ${config.dataDir}` : 'pglite (memory)';
}
