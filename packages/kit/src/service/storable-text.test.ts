import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readiness } from '../health.ts';
import { createMetricsRegistry } from '../metrics.ts';
import { captureLogger } from '../testing.ts';
import { createServiceApp } from './app.ts';
import { isStorableText, unstorableFields } from './storable-text.ts';

function build() {
  const app = createServiceApp({
    prefix: 'TEST',
    logger: captureLogger('svc').logger,
    readiness: new Readiness(),
    metrics: createMetricsRegistry('svc'),
  });
  const reached: unknown[] = [];
  // A route with a schema, and one without: the rule must not depend on a route opting in.
  app.post(
    '/things/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string' } } },
        body: { type: 'object', properties: { name: { type: 'string' }, tags: { type: 'array' } } },
      },
    },
    async (req) => {
      reached.push(req.body);
      return { ok: true };
    },
  );
  app.post('/free', async (req) => {
    reached.push(req.body);
    return { ok: true };
  });
  return { app, reached };
}

test('NUL and unpaired surrogates are unstorable; paired surrogates and other controls are text', () => {
  assert.equal(isStorableText('plain'), true);
  assert.equal(isStorableText('emoji 😀 tab\t bell\u0007'), true);
  assert.equal(isStorableText('a\u0000b'), false);
  assert.equal(isStorableText('\ud800'), false);
  assert.equal(isStorableText('x\udc00'), false);
});

test('every string is found, in arrays, nested objects and keys, with its path', () => {
  const fields = unstorableFields('body', {
    ok: 'fine',
    name: 'a\u0000',
    list: ['x', { deep: '\ud800' }],
    'k\u0000ey': 1,
  }).map((f) => f.field);
  assert.deepEqual(fields.sort(), ['body."k\\u0000ey"', 'body.list.1.deep', 'body.name'].sort());
  assert.deepEqual(unstorableFields('body', undefined), []);
});

test('a deeply nested body is walked without recursion (no stack overflow)', () => {
  let value: unknown = 'bottom\u0000';
  for (let i = 0; i < 50_000; i++) value = [value];
  const [found] = unstorableFields('body', value);
  assert.ok(found?.field.startsWith('body.0.0.0'));
});

test('the rule refuses body, query and path text on every route, with or without a schema', async () => {
  const { app, reached } = build();
  const body = await app.inject({
    method: 'POST',
    url: '/things/ok',
    payload: { name: 'a\u0000b', tags: ['fine', '\ud800'] },
  });
  assert.equal(body.statusCode, 400);
  assert.match(String(body.headers['content-type']), /^application\/problem\+json/);
  assert.equal(body.json().code, 'TEST_VALIDATION');
  assert.deepEqual(
    body
      .json()
      .errors.map((e: { field: string }) => e.field)
      .sort(),
    ['body.name', 'body.tags.1'],
  );

  const path = await app.inject({ method: 'POST', url: '/things/x%00y?q=%00', payload: { name: 'n' } });
  assert.equal(path.statusCode, 400);
  assert.deepEqual(
    path
      .json()
      .errors.map((e: { field: string }) => e.field)
      .sort(),
    ['params.id', 'querystring.q'],
  );

  const free = await app.inject({
    method: 'POST',
    url: '/free',
    payload: { anything: { nested: '\u0000' } },
  });
  assert.equal(free.statusCode, 400);
  assert.equal(free.json().errors[0].field, 'body.anything.nested');
  assert.deepEqual(reached, [], 'no handler saw the text');

  const fine = await app.inject({
    method: 'POST',
    url: '/things/ok',
    payload: { name: 'Ada 😀', tags: ['x'] },
  });
  assert.equal(fine.statusCode, 200);
});
