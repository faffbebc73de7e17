import fc from 'fast-check';
import type { Operation } from './operations.ts';
import { arbitraryFor, resolve, type Schema, textFields } from './schema-arbitrary.ts';

/** A request in terms of the document: parameter values and the body (undefined: none sent). */
export interface Case {
  readonly kind: 'valid' | 'mutated' | 'hostile';
  readonly note: string;
  readonly params: Record<string, unknown>;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
}

/**
 * Strings that have broken services before, in every text field: NUL and
 * unpaired surrogates (a database cannot store them), injection and traversal
 * shapes, bidi controls, emoji, empty and blank.
 */
export const HOSTILE_STRINGS: readonly string[] = [
  '\u0000',
  'name\u0000suffix',
  '\ud800',
  'tail\udfff',
  "' OR '1'='1' --",
  '../../../../etc/passwd',
  '%00%2e%2e%2f',
  '<script>alert(1)</script>',
  '\u202e\u200b\ufeff',
  '😀👩‍👩‍👧',
  ' ',
  '',
];

function paramsArbitrary(
  params: Operation['pathParams'],
  root: Schema,
  known: Readonly<Record<string, string>>,
): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    Object.fromEntries(
      params.map((p) => {
        const generated = arbitraryFor(p.schema, root);
        // A known value (the caller's own tenant …) reaches past "not found" into the handler.
        const value =
          known[p.name] === undefined ? generated : fc.oneof(fc.constant(known[p.name]), generated);
        return [p.name, value];
      }),
    ),
    { requiredKeys: params.filter((p) => p.required).map((p) => p.name) },
  );
}

function bodyArbitrary(op: Operation, root: Schema): fc.Arbitrary<unknown> {
  if (op.body === undefined) return fc.constant(undefined);
  const body = arbitraryFor(op.body.schema, root);
  return op.body.required ? body : fc.oneof(body, fc.constant(undefined));
}

function validArbitrary(op: Operation, root: Schema, known: Readonly<Record<string, string>>) {
  return fc.record({
    params: paramsArbitrary(op.pathParams, root, known),
    query: paramsArbitrary(op.queryParams, root, {}),
    body: bodyArbitrary(op, root),
  });
}

const WRONG_TYPES: readonly unknown[] = [123, true, null, ['x'], { nested: 'x' }, 1.5, 'text'];

/** One deliberate violation of the document: a missing, unknown, mistyped, overlong or malformed value. */
function mutate(base: Omit<Case, 'kind' | 'note'>, op: Operation, root: Schema, pick: number[]): Case {
  const at = (i: number, n: number) => (pick[i] ?? 0) % Math.max(n, 1);
  const copy = structuredClone(base) as {
    params: Record<string, unknown>;
    query: Record<string, unknown>;
    body: unknown;
  };
  const bodySchema = op.body === undefined ? undefined : resolve(op.body.schema, root);
  const properties = Object.keys((bodySchema?.properties ?? {}) as object);
  const targets = [
    ...op.pathParams.map((p) => ['params', p.name] as const),
    ...op.queryParams.map((p) => ['query', p.name] as const),
    ...(bodySchema === undefined ? [] : properties.map((p) => ['body', p] as const)),
    ...(bodySchema === undefined ? [] : [['body', ''] as const]),
  ];
  if (targets.length === 0) return { ...copy, kind: 'mutated', note: 'no inputs to mutate' };
  const [where, name] = targets[at(0, targets.length)] as (typeof targets)[number];
  const kinds = ['missing', 'wrong type', 'too long', 'malformed', 'unknown field'] as const;
  const kind = kinds[at(1, kinds.length)] as (typeof kinds)[number];
  if (where === 'body' && name === '') {
    copy.body = [[], 'not an object', 42, null][at(2, 4)];
    return { ...copy, kind: 'mutated', note: 'body of the wrong type' };
  }
  if (where === 'body' && (typeof copy.body !== 'object' || copy.body === null)) copy.body = {};
  const holder = (where === 'body' ? copy.body : copy[where]) as Record<string, unknown>;
  switch (kind) {
    case 'missing':
      delete holder[name];
      break;
    case 'wrong type':
      holder[name] = WRONG_TYPES[at(2, WRONG_TYPES.length)];
      break;
    case 'too long':
      holder[name] = 'x'.repeat(300 + at(2, 5000));
      break;
    case 'malformed':
      holder[name] = `${String(holder[name] ?? '')}${[' ', '!', '\n', 'é', '{}'][at(2, 5)]}`;
      break;
    case 'unknown field':
      if (where === 'body') holder[`extra${at(2, 3)}`] = ['isAdmin', true][at(3, 2)];
      else holder[name] = 'not-a-uuid';
      break;
  }
  return { ...copy, kind: 'mutated', note: `${kind}: ${where}.${name}` };
}

/** A bounded, seeded batch of cases for one operation. */
export function casesFor(
  op: Operation,
  root: Schema,
  known: Readonly<Record<string, string>>,
  options: { seed: number; valid: number; mutated: number },
): Case[] {
  const valid = validArbitrary(op, root, known);
  const cases: Case[] = fc
    .sample(valid, { seed: options.seed, numRuns: options.valid })
    .map((v) => ({ ...v, kind: 'valid', note: 'generated from the schema' }));
  const mutations = fc.sample(fc.tuple(valid, fc.array(fc.nat(), { minLength: 4, maxLength: 4 })), {
    seed: options.seed + 1,
    numRuns: options.mutated,
  });
  for (const [base, pick] of mutations) cases.push(mutate(base, op, root, pick));

  // Hostile strings in every text field, each in an otherwise valid request.
  const [base] = fc.sample(validArbitrary(op, root, known), { seed: options.seed + 2, numRuns: 1 });
  if (base === undefined) return cases;
  const places: { where: 'params' | 'query' | 'body'; path: string[] }[] = [
    ...op.pathParams.flatMap((p) =>
      textFields(p.schema, root, [p.name]).map((path) => ({ where: 'params' as const, path })),
    ),
    ...op.queryParams.flatMap((p) =>
      textFields(p.schema, root, [p.name]).map((path) => ({ where: 'query' as const, path })),
    ),
    ...(op.body === undefined
      ? []
      : textFields(op.body.schema, root)
          .filter((path) => path.length > 0)
          .map((path) => ({ where: 'body' as const, path }))),
  ];
  for (const place of places) {
    for (const hostile of HOSTILE_STRINGS) {
      // An empty path segment is not this operation's request: the gateway collapses `//`, so
      // `/conversations//archive` addresses another path (`/conversations/archive`), whose
      // answer (a 404 or a 405) belongs to that path. Wrong paths are the method probe's part.
      if (place.where === 'params' && hostile === '') continue;
      const copy = structuredClone(base) as {
        params: Record<string, unknown>;
        query: Record<string, unknown>;
        body: unknown;
      };
      if (place.where === 'body' && (typeof copy.body !== 'object' || copy.body === null)) copy.body = {};
      let holder = (place.where === 'body' ? copy.body : copy[place.where]) as Record<string, unknown>;
      for (const key of place.path.slice(0, -1)) {
        if (typeof holder[key] !== 'object' || holder[key] === null) holder[key] = {};
        holder = holder[key] as Record<string, unknown>;
      }
      holder[place.path.at(-1) as string] = hostile;
      cases.push({
        ...copy,
        kind: 'hostile',
        note: `${JSON.stringify(hostile)} in ${place.where}.${place.path.join('.')}`,
      });
    }
  }
  return cases;
}
