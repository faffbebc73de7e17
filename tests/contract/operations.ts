import type { Schema } from './schema-arbitrary.ts';

/** One operation of an OpenAPI document, in the shape the fuzzer needs. */
export interface Operation {
  readonly method: string;
  /** The path template, `/api/auth/tenants/{tenantId}/members`. */
  readonly path: string;
  readonly pathParams: readonly Parameter[];
  readonly queryParams: readonly Parameter[];
  /** The JSON body's schema, when the operation takes one. */
  readonly body?: { readonly schema: Schema; readonly required: boolean };
  readonly responses: Readonly<Record<string, Schema>>;
}

export interface Parameter {
  readonly name: string;
  readonly required: boolean;
  readonly schema: Schema;
}

export const FUZZED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export function operationsOf(doc: Schema): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (!(FUZZED_METHODS as readonly string[]).includes(method.toUpperCase())) continue;
      const params = ((op.parameters ?? []) as Schema[]).map((p) => ({
        name: p.name as string,
        in: p.in as string,
        required: p.required === true,
        schema: (p.schema ?? {}) as Schema,
      }));
      const content = (op.requestBody as Schema | undefined)?.content as Record<string, Schema> | undefined;
      const json = content?.['application/json'];
      out.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path'),
        queryParams: params.filter((p) => p.in === 'query'),
        ...(json === undefined
          ? {}
          : {
              body: {
                schema: (json.schema ?? {}) as Schema,
                required: (op.requestBody as Schema).required === true,
              },
            }),
        responses: (op.responses ?? {}) as Record<string, Schema>,
      });
    }
  }
  return out;
}

/** The methods each path of the document has. */
export function methodsByPath(operations: readonly Operation[]): Map<string, Set<string>> {
  const byPath = new Map<string, Set<string>>();
  for (const op of operations) {
    const set = byPath.get(op.path) ?? new Set<string>();
    set.add(op.method);
    byPath.set(op.path, set);
  }
  return byPath;
}
