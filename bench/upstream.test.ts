import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { BODY, createUpstream } from './upstream.ts';

test('the upstream answers 100 bytes of JSON on any path and method', async (t) => {
  const server = createUpstream().listen(0, '127.0.0.1');
  t.after(() => server.close());
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  assert.equal(BODY.length, 100);
  for (const [method, path] of [
    ['GET', '/bench/hello'],
    ['POST', '/anything?x=1'],
  ] as const) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      body: method === 'POST' ? 'x' : undefined,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), BODY);
  }
  assert.equal(JSON.parse(BODY.toString()).ok, true);
});
