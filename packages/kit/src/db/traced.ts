import { SpanKind, trace } from '@opentelemetry/api';
import { failSpan } from '../trace-context.ts';
import type { Database, Queryable, QueryResult, SqlParam } from './types.ts';

const tracer = trace.getTracer('@gatehouse/kit/db');

/** The statement's first keyword (SELECT, INSERT …): the span name, with no value in it. */
function operation(sql: string): string {
  const match = /^\s*(?:with\b[\s\S]*?\)\s*)?([a-z]+)/i.exec(sql);
  return (match?.[1] ?? 'QUERY').toUpperCase();
}

/**
 * A query span, child of the active span (the request's), when that span is
 * recorded: no span, and no cost beyond one lookup, for requests that are not
 * sampled. The SQL text has placeholders only; parameter values never go in.
 */
function traced<Row>(
  system: string,
  sql: string,
  run: () => Promise<QueryResult<Row>>,
): Promise<QueryResult<Row>> {
  if (trace.getActiveSpan()?.isRecording() !== true) return run();
  const op = operation(sql);
  const span = tracer.startSpan(op, {
    kind: SpanKind.CLIENT,
    attributes: { 'db.system.name': system, 'db.operation.name': op, 'db.query.text': sql.slice(0, 2_000) },
  });
  return run().then(
    (result) => {
      span.setAttribute('db.response.returned_rows', result.rowCount);
      span.end();
      return result;
    },
    (err: unknown) => {
      failSpan(span, err);
      throw err;
    },
  );
}

function tracedQueryable(system: string, target: Queryable): Queryable {
  return {
    query: <Row>(sql: string, params?: readonly SqlParam[]) =>
      traced(system, sql, () => target.query<Row>(sql, params)),
    execScript: (sql) => target.execScript(sql),
  };
}

/** `db` with a span per query (transactions' queries included). */
export function withQuerySpans(db: Database): Database {
  const system = 'postgresql';
  const root = tracedQueryable(system, db);
  return {
    kind: db.kind,
    query: root.query,
    execScript: root.execScript,
    transaction: (fn) => db.transaction((tx) => fn(tracedQueryable(system, tx))),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}
