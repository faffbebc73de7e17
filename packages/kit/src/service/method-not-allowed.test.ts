import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readiness } from '../health.ts';
import { createMetricsRegistry } from '../metrics.ts';
import { captureLogger } from '../testing.ts';
import { createServiceApp } from './app.ts';
import { createMethodIndex } from './method-not-allowed.ts';

function build() {
  const app = createServiceApp({
    prefix: 'TEST',
    logger: captureLogger('svc').logger,
    readiness: new Readiness(),
    metrics: createMetricsRegistry('svc'),
  });
  app.get('/items/:id', async () => ({ ok: true }));
  app.delete('/items/:id', async () => ({ ok: true }));
  app.post('/items', async () => ({ ok: true }));
  return app;
}

test('the index matches paths like the router: parameters, wildcards, no partial segments', () => {
  const index = createMethodIndex();
  index.add(['GET', 'HEAD'], '/a/:id');
  index.add('PUT', '/a/:id');
  index.add('PUT', '/a/:id');
  index.add('GET', '/files/*');
  assert.deepEqual(index.allowed('/a/42'), ['GET', 'HEAD', 'PUT']);
  assert.deepEqual(index.allowed('/files/x/y'), ['GET']);
  assert.deepEqual(index.allowed('/a'), []);
  assert.deepEqual(index.allowed('/a/42/more'), []);
});

test('a wrong method on a known path is a problem 405 with Allow; an unknown path stays 404', async () => {
  const app = build();
  const wrong = await app.inject({ method: 'PUT', url: '/items/7?x=1' });
  assert.equal(wrong.statusCode, 405);
  assert.equal(wrong.headers.allow, 'DELETE, GET, HEAD');
  assert.match(String(wrong.headers['content-type']), /^application\/problem\+json/);
  assert.equal(wrong.json().code, 'TEST_METHOD_NOT_ALLOWED');

  const post = await app.inject({ method: 'GET', url: '/items' });
  assert.equal(post.statusCode, 405);
  assert.equal(post.headers.allow, 'POST');

  const probe = await app.inject({ method: 'POST', url: '/live' });
  assert.equal(probe.statusCode, 405);
  assert.equal(probe.headers.allow, 'GET, HEAD');

  const unknown = await app.inject({ method: 'GET', url: '/nothing/here' });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, 'TEST_NOT_FOUND');
});

test('a static path is its own resource: a parametric route of another method does not answer it', async () => {
  const app = build();
  app.post('/items/bulk', async () => ({ ok: true }));
  for (const method of ['GET', 'DELETE', 'PUT'] as const) {
    const res = await app.inject({ method, url: '/items/bulk?x=1' });
    assert.equal(res.statusCode, 405, `${method} /items/bulk`);
    assert.equal(res.headers.allow, 'POST');
    assert.equal(res.json().code, 'TEST_METHOD_NOT_ALLOWED');
  }
  assert.equal((await app.inject({ method: 'POST', url: '/items/bulk' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/items/7' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'HEAD', url: '/live' })).statusCode, 200);
});

test("what the router refuses before any hook is a problem document, not Fastify's JSON", async () => {
  const app = build();
  const long = await app.inject({ method: 'GET', url: `/items/${'x'.repeat(500)}` });
  assert.equal(long.statusCode, 400);
  assert.match(String(long.headers['content-type']), /^application\/problem\+json/);
  assert.equal(long.json().code, 'TEST_MALFORMED_REQUEST');
  assert.equal(long.json().requestId, long.headers['x-request-id']);
  const badUrl = await app.inject({ method: 'GET', url: '/items/%E0%A4%A' });
  assert.equal(badUrl.statusCode, 400);
  assert.equal(badUrl.json().code, 'TEST_MALFORMED_REQUEST');
});
