import assert from 'node:assert/strict';
import { test } from 'node:test';
import { completeDocument, type OpenApiDocument, splitDocument } from './document.ts';

const generated: OpenApiDocument = {
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  servers: [{ url: 'https://api.example' }],
  tags: [{ name: 'things' }, { name: 'internal' }],
  paths: {
    '/api/x/things': {
      get: { tags: ['things'], responses: { 200: { description: 'ok' } } },
      post: {
        tags: ['things'],
        requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          201: { description: 'created' },
          409: {
            description: 'Already there',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          401: { description: 'Default Response', content: { 'application/json': { schema: {} } } },
        },
      },
    },
    '/internal/things/{id}': { get: { tags: ['internal'], responses: { 200: { description: 'ok' } } } },
  },
};

test('every error is problem+json with the shared schema; the shared answers are referenced once', () => {
  const doc = completeDocument(generated);
  assert.ok(doc.components?.schemas?.Problem);
  assert.ok(doc.components?.responses?.TooManyRequests);
  const ops = doc.paths?.['/api/x/things'];
  const get = ops?.get?.responses ?? {};
  assert.deepEqual(Object.keys(get), ['200', '400', '401', '403', '429', '500', '502', '503', '504']);
  assert.deepEqual(get['429'], { $ref: '#/components/responses/TooManyRequests' });

  const post = ops?.post?.responses ?? {};
  assert.deepEqual(Object.keys(post), [
    '201',
    '400',
    '401',
    '403',
    '409',
    '413',
    '415',
    '429',
    '500',
    '502',
    '503',
    '504',
  ]);
  // The route's own error keeps its description, with the shared schema.
  assert.deepEqual(post['409'], {
    description: 'Already there',
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  // A route's error without a description of its own becomes the shared answer.
  assert.deepEqual(post['401'], { $ref: '#/components/responses/Unauthorized' });
  assert.equal(generated.components, undefined, 'the input is not changed');
});

test('the public document has no internal path or tag; the internal one only those, without public servers', () => {
  const { public: pub, internal } = splitDocument(completeDocument(generated));
  assert.deepEqual(Object.keys(pub.paths ?? {}), ['/api/x/things']);
  assert.deepEqual(pub.tags, [{ name: 'things' }]);
  assert.deepEqual(pub.servers, [{ url: 'https://api.example' }]);
  assert.deepEqual(Object.keys(internal.paths ?? {}), ['/internal/things/{id}']);
  assert.deepEqual(internal.tags, [{ name: 'internal' }]);
  assert.equal(internal.servers, undefined);
  assert.ok(internal.components?.schemas?.Problem, 'both keep the shared components');
});
