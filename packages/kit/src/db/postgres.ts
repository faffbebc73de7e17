import pg from 'pg';
import type { Database, Queryable, QueryResult, SqlParam } from './types.ts';

export interface PostgresOptions {
  readonly url: string;
  readonly maxConnections?: number;
  /** Every connection uses this schema first (tests use one schema per run). */
  readonly schema?: string;
  readonly statementTimeoutMs?: number;
}

function wrap(target: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<Row>(sql: string, params: readonly SqlParam[] = []): Promise<QueryResult<Row>> {
      const result = await target.query(sql, params as unknown[]);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
    },
    async execScript(sql: string): Promise<void> {
      await target.query(sql);
    },
  };
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A Postgres server through a `pg` pool. */
export async function openPostgres(options: PostgresOptions): Promise<Database> {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new Error(`openPostgres: invalid schema name ${JSON.stringify(options.schema)}`);
  }
  const settings: string[] = [];
  // Identifiers cannot be parameters; the schema name is checked against SCHEMA_NAME above.
  if (options.schema !== undefined) settings.push(`-c search_path=${options.schema}`);
  settings.push(`-c statement_timeout=${options.statementTimeoutMs ?? 10_000}`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    options: settings.join(' '),
    connectionTimeoutMillis: 5000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  if (options.schema !== undefined) await pool.query(`create schema if not exists ${options.schema}`);
  const root = wrap(pool);
  let closed = false;
  return {
    kind: 'postgres',
    query: root.query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn(wrap(client));
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    execScript: root.execScript,
    async ping(): Promise<boolean> {
      if (closed) return false;
      await pool.query('select 1');
      return true;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
