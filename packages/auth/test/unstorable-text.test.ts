import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startAuth } from './helpers.ts';

/**
 * Attack: text a database cannot store (NUL, an unpaired surrogate) sent to
 * every text field of every route, public and internal, read from the two
 * OpenAPI documents so a new route is covered the day it lands. Postgres
 * refuses NUL in text, which used to answer 500 AUTH_INTERNAL; it must be a
 * 400 naming the field.
 */

type Schema = Record<string, unknown>;
type Doc = { paths: Record<string, Record<string, Schema>> };

interface Place {
  readonly where: 'params' | 'querystring' | 'body';
  readonly name: string;
}

function isText(schema: Schema | undefined): boolean {
  const type = schema?.type;
  return type === 'string' || (Array.isArray(type) && type.includes('string'));
}

function textPlaces(op: Schema): Place[] {
  const places: Place[] = [];
  for (const p of (op.parameters ?? []) as Schema[]) {
    if (!isText(p.schema as Schema)) continue;
    places.push({ where: p.in === 'path' ? 'params' : 'querystring', name: p.name as string });
  }
  const body = (op.requestBody as Schema | undefined)?.content as Record<string, Schema> | undefined;
  const properties = ((body?.['application/json']?.schema as Schema | undefined)?.properties ?? {}) as Record<
    string,
    Schema
  >;
  for (const [name, schema] of Object.entries(properties)) {
    if (isText(schema)) places.push({ where: 'body', name });
  }
  return places;
}

describe('text a database cannot store, in every text field of the identity service', () => {
  let t: Awaited<ReturnType<typeof startAuth>>;
  let user: { accessToken: string; tenantId: string; userId: string };
  before(async () => {
    t = await startAuth();
    const u = await t.registerUser('unstorable');
    user = { accessToken: u.accessToken, tenantId: u.tenant.id, userId: u.user.id };
  });
  after(() => t.close());

  for (const [label, bad, wire] of [
    ['NUL', 'a\u0000b', 'a%00b'],
    ['an unpaired surrogate', 'a\ud800b', 'a%ED%A0%80b'],
  ] as const) {
    test(`${label}: 400 AUTH_VALIDATION naming the field, for every operation of both documents`, async () => {
      const publicDoc = (await t.call('GET', '/api/auth/openapi.json')).json() as Doc;
      const internalDoc = (await t.internal('GET', '/internal/openapi.json')).json() as Doc;
      let checked = 0;
      for (const [doc, internal] of [
        [publicDoc, false],
        [internalDoc, true],
      ] as const) {
        for (const [path, operations] of Object.entries(doc.paths)) {
          for (const [method, op] of Object.entries(operations)) {
            for (const place of textPlaces(op)) {
              const params: Record<string, string> = {
                tenantId: user.tenantId,
                userId: user.userId,
                id: user.userId,
              };
              let url = path.replace(/\{([^}]+)\}/g, (_m, name: string) =>
                place.where === 'params' && name === place.name ? wire : (params[name] ?? user.tenantId),
              );
              if (place.where === 'querystring') url += `?${place.name}=${wire}`;
              const body = place.where === 'body' ? { [place.name]: bad } : undefined;
              const verb = method.toUpperCase() as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
              const res = internal
                ? await t.internal(verb as 'GET' | 'PUT', url, body)
                : await t.call(verb, url, {
                    token: user.accessToken,
                    ...(body === undefined ? {} : { body }),
                  });
              const what = `${verb} ${path} ${place.where}.${place.name}`;
              assert.equal(res.statusCode, 400, `${what}: ${res.statusCode} ${res.body}`);
              assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
              const problem = res.json() as { code: string; errors: { field: string }[] };
              if (label !== 'NUL' && place.where !== 'body') {
                // An unpaired surrogate has no UTF-8 form: in a URL it arrives as bytes that do not decode.
                assert.match(problem.code, /^AUTH_(VALIDATION|MALFORMED_REQUEST)$/, what);
                checked++;
                continue;
              }
              assert.equal(problem.code, 'AUTH_VALIDATION', what);
              assert.ok(
                problem.errors.some((e) => e.field === `${place.where}.${place.name}`),
                `${what}: ${res.body}`,
              );
              checked++;
            }
          }
        }
      }
      // Sign-up alone has four text fields; the documents together have far more.
      assert.ok(checked >= 25, `only ${checked} text fields found in the documents`);
    });
  }

  test('the public document leaves the internal routes out; the internal one has only them, for platform callers', async () => {
    const publicDoc = (await t.call('GET', '/api/auth/openapi.json')).json() as Doc;
    const paths = Object.keys(publicDoc.paths);
    assert.ok(paths.includes('/api/auth/register'));
    assert.deepEqual(
      paths.filter((p) => p.startsWith('/internal')),
      [],
    );
    const page = (await t.call('GET', '/api/auth/docs/json')).json() as Doc;
    assert.deepEqual(
      Object.keys(page.paths).sort(),
      [...paths].sort(),
      'the interactive page shows the public one',
    );

    assert.equal((await t.call('GET', '/internal/openapi.json')).statusCode, 401);
    const asUser = await t.call('GET', '/internal/openapi.json', { token: user.accessToken });
    assert.equal(asUser.statusCode, 403);
    const internalDoc = (await t.internal('GET', '/internal/openapi.json')).json() as Doc;
    assert.deepEqual(Object.keys(internalDoc.paths).sort(), [
      '/internal/revocations',
      '/internal/users/{id}',
      '/internal/users/{id}/status',
    ]);
  });

  test('every error answer of every operation is problem+json with the shared schema', async () => {
    const doc = (await t.call('GET', '/api/auth/openapi.json')).json() as Doc & {
      components: { responses: Record<string, Schema>; schemas: Record<string, Schema> };
    };
    assert.ok(doc.components.schemas.Problem);
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const responses = op.responses as Record<string, Schema>;
        for (const status of ['400', '401', '403', '429', '500', '502', '503', '504']) {
          assert.ok(responses[status], `${method} ${path} does not declare ${status}`);
        }
        for (const [status, declared] of Object.entries(responses)) {
          if (Number(status) < 400) continue;
          const ref = declared.$ref as string | undefined;
          const response =
            ref === undefined ? declared : doc.components.responses[ref.split('/').at(-1) as string];
          const content = response?.content as Record<string, { schema: Schema }>;
          assert.deepEqual(Object.keys(content), ['application/problem+json'], `${method} ${path} ${status}`);
          assert.equal(content['application/problem+json']?.schema.$ref, '#/components/schemas/Problem');
        }
      }
    }
  });
});
