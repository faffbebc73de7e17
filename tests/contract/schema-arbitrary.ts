import fc from 'fast-check';

/**
 * fast-check arbitraries from the JSON Schemas of an OpenAPI document: values
 * meant to be valid. "Meant": whether a generated request really is valid is
 * always judged by ajv against the document (oracle.ts), so a generator that
 * misses a corner (a grapheme longer than one code point, a pattern with a
 * length limit) only moves a case from the valid to the invalid column.
 */

export type Schema = Record<string, unknown>;

/** Long strings prove nothing more than medium ones and slow every case down. */
const MAX_GENERATED_LENGTH = 64;

export function resolve(schema: Schema, root: Schema): Schema {
  let current = schema;
  for (let hops = 0; typeof current.$ref === 'string' && hops < 20; hops++) {
    const path = (current.$ref as string).replace(/^#\//, '').split('/');
    let target: unknown = root;
    for (const part of path)
      target = (target as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    if (target === undefined) throw new Error(`unresolved $ref ${current.$ref}`);
    current = target as Schema;
  }
  return current;
}

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = Math.min(
    typeof schema.maxLength === 'number' ? schema.maxLength : MAX_GENERATED_LENGTH,
    Math.max(minLength, MAX_GENERATED_LENGTH),
  );
  const fits = (s: string) => [...s].length >= minLength && [...s].length <= maxLength;
  if (typeof schema.pattern === 'string') {
    return fc.stringMatching(new RegExp(schema.pattern, 'u')).filter(fits);
  }
  switch (schema.format) {
    case 'uuid':
      return fc.uuid();
    case 'date-time':
      return fc
        .date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString());
    case 'email':
      return fc.emailAddress().filter(fits);
  }
  // Any code point (NUL and other controls included) as well as printable text.
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ minLength, maxLength, unit: 'grapheme' }) },
    { weight: 1, arbitrary: fc.string({ minLength, maxLength, unit: 'binary' }) },
  );
}

export function arbitraryFor(schema: Schema, root: Schema): fc.Arbitrary<unknown> {
  const s = resolve(schema, root);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(s[key])) return fc.oneof(...(s[key] as Schema[]).map((sub) => arbitraryFor(sub, root)));
  }
  if (Array.isArray(s.type)) {
    return fc.oneof(...(s.type as string[]).map((type) => arbitraryFor({ ...s, type }, root)));
  }
  switch (s.type) {
    case 'string':
      return stringArbitrary(s);
    case 'integer':
      return fc.integer({
        min: typeof s.minimum === 'number' ? s.minimum : -1_000_000,
        max: typeof s.maximum === 'number' ? s.maximum : 1_000_000,
      });
    case 'number':
      return fc.double({
        min: typeof s.minimum === 'number' ? s.minimum : -1e9,
        max: typeof s.maximum === 'number' ? s.maximum : 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(arbitraryFor((s.items as Schema | undefined) ?? {}, root), {
        minLength: typeof s.minItems === 'number' ? s.minItems : 0,
        maxLength: Math.min(typeof s.maxItems === 'number' ? s.maxItems : 4, 4),
      });
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, Schema>;
      const required = (s.required ?? []) as string[];
      return fc.record(
        Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, arbitraryFor(sub, root)])),
        { requiredKeys: required.filter((r) => r in properties) },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Every string-typed place in a schema, as a path of property names (for hostile strings). */
export function textFields(schema: Schema, root: Schema, path: string[] = []): string[][] {
  const s = resolve(schema, root);
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes('string')) return [path];
  if (types.includes('object')) {
    return Object.entries((s.properties ?? {}) as Record<string, Schema>).flatMap(([name, sub]) =>
      textFields(sub, root, [...path, name]),
    );
  }
  return [];
}
