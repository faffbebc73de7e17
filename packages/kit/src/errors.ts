import type { ServerResponse } from 'node:http';

/** One row of a package's error table: the HTTP status and a short, stable title. */
export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

export type ErrorTable = Readonly<Record<string, ErrorSpec>>;

export interface ProblemOptions {
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Extra members of the problem document (RFC 9457 extension members). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/**
 * An error that becomes an RFC 9457 problem document. Match on `code`, never on
 * `instanceof`: two copies of this package may be loaded.
 */
export class ProblemError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly extensions: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, spec: ErrorSpec, detail?: string, options: ProblemOptions = {}) {
    super(detail ?? spec.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProblemError';
    this.code = code;
    this.status = spec.status;
    this.title = spec.title;
    this.detail = detail;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }
}

export function isProblemError(err: unknown): err is ProblemError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'ProblemError' &&
    typeof (err as { code?: unknown }).code === 'string' &&
    typeof (err as { status?: unknown }).status === 'number'
  );
}

/**
 * Declares the error codes of one package. Every code a package can answer with
 * is in its table; `docs/errors.md` documents them (a test checks that).
 */
export function defineErrors<const T extends ErrorTable>(table: T) {
  return {
    table,
    create(code: keyof T & string, detail?: string, options?: ProblemOptions): ProblemError {
      return new ProblemError(code, table[code] as ErrorSpec, detail, options);
    },
  };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  requestId?: string;
  [extension: string]: unknown;
}

export function problemType(code: string): string {
  return `urn:gatehouse:problem:${code}`;
}

/**
 * Turns any thrown value into a problem document. Unknown errors become a 500
 * with no detail: their message and stack go to the log, never to the client.
 */
export function toProblem(
  err: unknown,
  requestId: string | undefined,
  internalCode: string,
): ProblemDocument {
  if (isProblemError(err)) {
    // Extension members never stand in for the reserved ones.
    const { detail: _detail, requestId: _requestId, ...extensions } = err.extensions ?? {};
    const doc: ProblemDocument = {
      ...extensions,
      type: problemType(err.code),
      title: err.title,
      status: err.status,
      code: err.code,
    };
    if (err.detail !== undefined) doc.detail = err.detail;
    if (requestId !== undefined) doc.requestId = requestId;
    return doc;
  }
  const doc: ProblemDocument = {
    type: problemType(internalCode),
    title: 'Internal Server Error',
    status: 500,
    code: internalCode,
  };
  if (requestId !== undefined) doc.requestId = requestId;
  return doc;
}

/** Writes a problem document on a node:http response that has not started yet. */
export function sendProblem(
  res: ServerResponse,
  doc: ProblemDocument,
  headers?: Readonly<Record<string, string>>,
): void {
  const body = JSON.stringify(doc);
  if (headers !== undefined) {
    for (const name in headers) res.setHeader(name, headers[name] as string);
  }
  res.statusCode = doc.status;
  res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}
