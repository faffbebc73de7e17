/**
 * The one query interface every service uses, whether the data lives in an
 * embedded PGlite or in a Postgres server. Queries take parameters only: SQL
 * text is never built from values.
 */
export type SqlParam = string | number | boolean | null | Date | Uint8Array | readonly unknown[] | object;

export interface QueryResult<Row> {
  readonly rows: Row[];
  /** Rows returned, or rows changed by INSERT/UPDATE/DELETE. */
  readonly rowCount: number;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<Row>>;
  /**
   * Runs a script of several statements without parameters. Only for migration
   * files, which are part of the code base, never for values.
   */
  execScript(sql: string): Promise<void>;
}

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database extends Queryable {
  readonly kind: DatabaseKind;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** A cheap round trip for readiness checks. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
