import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAssertionVerifier } from '../assertion.ts';
import { Readiness } from '../health.ts';
import { createMetricsRegistry } from '../metrics.ts';
import { createServiceCallSigner } from '../service-assertion.ts';
import { captureLogger, randomSecret } from '../testing.ts';
import { INTERNAL_DOCUMENT_PATH, registerApiDocuments } from './api-documents.ts';
import { createServiceApp } from './app.ts';
import { requirePlatformService } from './identity.ts';

test('a service publishes its public document through its prefix and the internal one to platform callers only', async () => {
  const keys = [{ kid: 'gw1', secret: randomSecret() }];
  const app = createServiceApp({
    prefix: 'TEST',
    logger: captureLogger('svc').logger,
    readiness: new Readiness(),
    metrics: createMetricsRegistry('svc'),
  });
  const platform = requirePlatformService(createAssertionVerifier(keys), 'TEST');
  await registerApiDocuments(app, {
    publicPrefix: '/api/test',
    publicUrl: 'https://api.example',
    info: { title: 'test', version: '1' },
    internalAccess: platform,
  });
  app.get('/api/test/things', { schema: { response: { 200: { type: 'array' } } } }, async () => []);
  app.get('/internal/secrets', { preHandler: platform }, async () => ({}));
  await app.ready();

  const pub = await app.inject({ url: '/api/test/openapi.json' });
  assert.equal(pub.statusCode, 200);
  assert.deepEqual(Object.keys(pub.json().paths), ['/api/test/things']);
  assert.ok(pub.json().paths['/api/test/things'].get.responses['429']);
  const page = await app.inject({ url: '/api/test/docs/json' });
  assert.deepEqual(Object.keys(page.json().paths), ['/api/test/things']);

  assert.equal((await app.inject({ url: INTERNAL_DOCUMENT_PATH })).statusCode, 401);
  const sign = createServiceCallSigner(keys, 'gateway');
  const internal = await app.inject({
    url: INTERNAL_DOCUMENT_PATH,
    headers: { ...sign('GET', INTERNAL_DOCUMENT_PATH) },
  });
  assert.equal(internal.statusCode, 200);
  assert.deepEqual(Object.keys(internal.json().paths), ['/internal/secrets']);
  await app.close();
});
