import { STATUS_CODES } from 'node:http';
import {
  bodyResponses,
  commonResponses,
  methodNotAllowedResponse,
  problemContent,
  problemSchema,
} from './problem.ts';

/** The parts of an OpenAPI 3.1 document this module reads and writes. */
export interface OpenApiDocument {
  openapi: string;
  info: Record<string, unknown>;
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths?: Record<string, Record<string, OpenApiOperation>>;
  components?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export interface OpenApiOperation {
  tags?: string[];
  parameters?: Record<string, unknown>[];
  requestBody?: Record<string, unknown>;
  responses?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` });

/**
 * Makes a generated document say what the platform really answers, for every
 * operation of every service, so no route can forget it: each error response
 * is `application/problem+json` with the shared problem schema, and the
 * answers any operation can give (the gateway's 401, 403, 429, 502, 503, 504;
 * the service's 400 and 500; 413 and 415 where a body is read) are referenced
 * from one place. A route still declares its own errors (409, 404 …) and
 * keeps its description of them. Returns a new document.
 */
export function completeDocument(source: OpenApiDocument): OpenApiDocument {
  const doc = structuredClone(source);
  doc.components ??= {};
  const components = doc.components;
  components.schemas = { ...components.schemas, Problem: problemSchema };
  const responses: Record<string, unknown> = { ...components.responses };
  for (const { name, response } of [...Object.values(commonResponses), ...Object.values(bodyResponses)]) {
    responses[name] = response;
  }
  responses.MethodNotAllowed = methodNotAllowedResponse;
  components.responses = responses;

  for (const operations of Object.values(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!(HTTP_METHODS as readonly string[]).includes(method)) continue;
      const shared: Record<string, { name: string }> = { ...commonResponses };
      if (method !== 'get' && method !== 'head') Object.assign(shared, bodyResponses);
      const merged: Record<string, Record<string, unknown>> = {};
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        merged[status] = Number(status) >= 400 ? asProblem(status, response, shared[status]?.name) : response;
      }
      for (const [status, { name }] of Object.entries(shared)) merged[status] ??= ref(name);
      operation.responses = Object.fromEntries(
        Object.entries(merged).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })),
      );
    }
  }
  return doc;
}

/**
 * A route's own error answer, with the shared schema. Its description is kept
 * when the route wrote one; otherwise the shared answer of that status (when
 * there is one) is referenced, since it says more than the status name.
 */
function asProblem(
  status: string,
  response: Record<string, unknown>,
  sharedName: string | undefined,
): Record<string, unknown> {
  const own = response.description;
  const written = typeof own === 'string' && own !== problemSchema.description && own !== 'Default Response';
  if (!written && sharedName !== undefined) return ref(sharedName);
  const description = written ? own : (STATUS_CODES[Number(status)] ?? 'Error');
  return {
    description,
    ...(response.headers === undefined ? {} : { headers: response.headers }),
    content: problemContent(),
  };
}

export const isInternalPath = (path: string): boolean =>
  path === '/internal' || path.startsWith('/internal/');

/**
 * The public document (what the gateway routes to the world) and the internal
 * one (routes for the gateway and platform services only): an API's public
 * inventory must not describe its internal surface (OWASP API9).
 */
export function splitDocument(
  doc: OpenApiDocument,
  isInternal: (path: string) => boolean = isInternalPath,
): { public: OpenApiDocument; internal: OpenApiDocument } {
  const part = (internal: boolean): OpenApiDocument => {
    const paths = Object.fromEntries(
      Object.entries(doc.paths ?? {}).filter(([p]) => isInternal(p) === internal),
    );
    const used = new Set(
      Object.values(paths).flatMap((ops) => Object.values(ops).flatMap((op) => op.tags ?? [])),
    );
    const copy = structuredClone({ ...doc, paths });
    if (doc.tags !== undefined) copy.tags = structuredClone(doc.tags.filter((t) => used.has(t.name)));
    // The internal document describes the service's own address, never the public one.
    if (internal) delete copy.servers;
    return copy;
  };
  return { public: part(false), internal: part(true) };
}
