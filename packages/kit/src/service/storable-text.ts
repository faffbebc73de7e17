import type { FastifyRequest } from 'fastify';
import { ProblemError } from '../errors.ts';

/**
 * Text a database cannot store: Postgres refuses U+0000 in `text` and
 * `jsonb` (the query fails, which used to surface as a 500), and a lone UTF-16
 * surrogate has no UTF-8 form (the driver would silently store U+FFFD instead:
 * data lost without a word). Both are refused at the door instead.
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

export interface UnstorableField {
  readonly field: string;
  readonly message: string;
}

const MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

function key(name: string): string {
  // A key that is itself unstorable is named by its JSON form, so the answer stays storable and readable.
  return isStorableText(name) && /^[A-Za-z0-9_$-]+$/.test(name) ? name : JSON.stringify(name);
}

/**
 * Every string in `value` (object keys too), depth-first without recursion: a
 * 64 KiB body of nested arrays is deep enough to overflow the call stack.
 */
export function unstorableFields(root: string, value: unknown): UnstorableField[] {
  const found: UnstorableField[] = [];
  const pending: [string, unknown][] = [[root, value]];
  while (pending.length > 0) {
    const [path, item] = pending.pop() as [string, unknown];
    if (typeof item === 'string') {
      if (!isStorableText(item)) found.push({ field: path, message: MESSAGE });
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push([`${path}.${i}`, item[i]]);
    } else if (typeof item === 'object' && item !== null) {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [name, child] = entries[i] as [string, unknown];
        if (!isStorableText(name)) found.push({ field: `${path}.${key(name)}`, message: MESSAGE });
        pending.push([`${path}.${key(name)}`, child]);
      }
    }
  }
  return found;
}

/**
 * One rule for every route of every service: a `preValidation` hook on the
 * root instance (createServiceApp adds it). It is the one place that cannot be
 * forgotten: it runs for every route whether or not the route has a schema,
 * for the body, the query string and the path parameters alike, before any
 * handler can hand the text to a database. An AJV keyword would see only the
 * strings a schema declares (free-form objects and schema-less routes would
 * slip through), and a JSON reviver would see only JSON bodies.
 */
export function refuseUnstorableText(prefix: string) {
  return async function refuseUnstorable(req: FastifyRequest): Promise<void> {
    const errors = [
      ...unstorableFields('params', req.params),
      ...unstorableFields('querystring', req.query),
      ...unstorableFields('body', req.body),
    ];
    if (errors.length === 0) return;
    throw new ProblemError(
      `${prefix}_VALIDATION`,
      { status: 400, title: 'The request is not valid' },
      errors.map((e) => `${e.field} ${e.message}`).join('; '),
      { extensions: { errors } },
    );
  };
}
