import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAssertionSigner, createAssertionVerifier } from '../assertion.ts';
import { Readiness } from '../health.ts';
import { createMetricsRegistry } from '../metrics.ts';
import { createServiceCallSigner } from '../service-assertion.ts';
import { captureLogger, randomSecret } from '../testing.ts';
import { createServiceApp } from './app.ts';
import { requireIdentity, requirePlatformService } from './identity.ts';

const keys = [{ kid: 'gw1', secret: randomSecret() }];

function build() {
  const captured = captureLogger('svc');
  const readiness = new Readiness();
  const app = createServiceApp({
    prefix: 'TEST',
    logger: captured.logger,
    readiness,
    metrics: createMetricsRegistry('svc'),
  });
  const verifier = createAssertionVerifier(keys);
  app.post(
    '/things',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string', maxLength: 5 } },
        },
      },
    },
    async (req) => ({ got: req.body }),
  );
  app.get('/boom', async () => {
    throw new Error('secret internals');
  });
  app.get('/me', { preHandler: requireIdentity(verifier, 'TEST') }, async (req) => ({
    identity: req.identity,
  }));
  app.get('/internal/x', { preHandler: requirePlatformService(verifier, 'TEST') }, async (req) => ({
    caller: req.identity?.sub,
  }));
  return { app, captured, readiness };
}

test('a sane inbound request id is echoed; an insane one is replaced', async () => {
  const { app } = build();
  const kept = await app.inject({ url: '/live', headers: { 'x-request-id': 'req-12345678' } });
  assert.equal(kept.headers['x-request-id'], 'req-12345678');
  const replaced = await app.inject({ url: '/live', headers: { 'x-request-id': 'bad id\r\nwith "stuff"' } });
  assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  const generated = await app.inject({ url: '/live' });
  assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('validation errors are problem+json 400 with the field list; unknown fields are refused', async () => {
  const { app } = build();
  const res = await app.inject({
    method: 'POST',
    url: '/things',
    payload: { name: 'toolong', isAdmin: true },
  });
  assert.equal(res.statusCode, 400);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = res.json();
  assert.equal(body.code, 'TEST_VALIDATION');
  const fields = body.errors.map((e: { field: string }) => e.field).sort();
  assert.deepEqual(fields, ['body.isAdmin', 'body.name']);
  assert.equal(body.requestId, res.headers['x-request-id']);
});

test('malformed JSON, too large and wrong content type have their own codes', async () => {
  const { app } = build();
  const bad = await app.inject({
    method: 'POST',
    url: '/things',
    headers: { 'content-type': 'application/json' },
    payload: '{"name":',
  });
  assert.equal(bad.json().code, 'TEST_MALFORMED_REQUEST');
  const big = await app.inject({
    method: 'POST',
    url: '/things',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ name: 'x'.repeat(100_000) }),
  });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().code, 'TEST_BODY_TOO_LARGE');
  const type = await app.inject({
    method: 'POST',
    url: '/things',
    headers: { 'content-type': 'text/xml' },
    payload: '<a/>',
  });
  assert.equal(type.statusCode, 415);
  assert.equal(type.json().code, 'TEST_UNSUPPORTED_MEDIA_TYPE');
});

test('an unknown error is a 500 without detail, logged with its stack', async () => {
  const { app, captured } = build();
  const res = await app.inject({ url: '/boom' });
  assert.equal(res.statusCode, 500);
  assert.equal(res.json().code, 'TEST_INTERNAL');
  assert.doesNotMatch(res.body, /secret internals/);
  const line = captured.lines.find((l) => l.msg === 'request failed');
  assert.match(JSON.stringify(line), /secret internals/);
  assert.match(JSON.stringify(line), /stack/);
});

test('unknown routes are a problem 404', async () => {
  const { app } = build();
  const res = await app.inject({ url: '/nope' });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'TEST_NOT_FOUND');
});

test('/ready follows the readiness checks; /metrics serves prometheus text', async () => {
  const { app, readiness } = build();
  assert.equal((await app.inject({ url: '/ready' })).statusCode, 200);
  readiness.register('db', () => false);
  const down = await app.inject({ url: '/ready' });
  assert.equal(down.statusCode, 503);
  assert.deepEqual(down.json(), { status: 'not_ready' });
  await app.inject({ url: '/live' });
  const metrics = await app.inject({ url: '/metrics' });
  assert.match(metrics.body, /http_server_request_duration_seconds_count\{.*route="\/live"/);
});

test('identity comes only from a valid assertion bound to this request, never from x-user-id', async () => {
  const { app } = build();
  const spoofed = await app.inject({
    url: '/me',
    headers: {
      'x-user-id': 'u1',
      'x-tenant-id': 't1',
      'x-user-roles': 'owner',
      'x-request-id': 'rid-00000001',
    },
  });
  assert.equal(spoofed.statusCode, 401);
  assert.equal(spoofed.json().code, 'TEST_UNAUTHENTICATED');

  const sign = createAssertionSigner(keys);
  const identity = { sub: 'u1', tid: 't1', roles: ['member'], jti: 'j1' };
  const good = sign(identity, { method: 'GET', path: '/me', requestId: 'rid-00000001' });
  const ok = await app.inject({
    url: '/me?x=1',
    headers: { 'x-gateway-assertion': good, 'x-request-id': 'rid-00000001' },
  });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json().identity, identity);

  const otherRequest = await app.inject({
    url: '/me',
    headers: { 'x-gateway-assertion': good, 'x-request-id': 'rid-00000002' },
  });
  assert.equal(otherRequest.statusCode, 401);

  const forged = createAssertionSigner([{ kid: 'gw1', secret: randomSecret() }])(identity, {
    method: 'GET',
    path: '/me',
    requestId: 'rid-00000001',
  });
  const refused = await app.inject({
    url: '/me',
    headers: { 'x-gateway-assertion': forged, 'x-request-id': 'rid-00000001' },
  });
  assert.equal(refused.statusCode, 401);
});

test('internal endpoints accept platform services only', async () => {
  const { app } = build();
  const headers = createServiceCallSigner(keys, 'gateway')('GET', '/internal/x?y=1');
  const ok = await app.inject({ url: '/internal/x?y=1', headers: { ...headers } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().caller, 'service:gateway');

  const user = createAssertionSigner(keys)(
    { sub: 'u1', tid: 'platform', roles: ['platform-service'] },
    { method: 'GET', path: '/internal/x', requestId: 'rid-00000003' },
  );
  const refused = await app.inject({
    url: '/internal/x',
    headers: { 'x-gateway-assertion': user, 'x-request-id': 'rid-00000003' },
  });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json().code, 'TEST_FORBIDDEN');

  const none = await app.inject({ url: '/internal/x' });
  assert.equal(none.statusCode, 401);

  // A service assertion does not pass as a user either.
  const asUser = await app.inject({
    url: '/me',
    headers: { ...createServiceCallSigner(keys, 'gateway')('GET', '/me') },
  });
  assert.equal(asUser.statusCode, 403);
});
