import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAuth, type TestAuth } from './helpers.ts';

let t: TestAuth;
before(async () => {
  t = await startAuth({ AUTH_CLIENT_MAX_FAILURES: '6', AUTH_LOGIN_MAX_FAILURES: '100' });
});
after(() => t.close());

test('one client spraying many accounts is locked out with 429 and Retry-After', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const res = await t.call('POST', '/api/auth/login', {
      body: { email: `spray${i}@example.com`, password: 'guess guess guess' },
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    statuses.push(res.statusCode);
    if (res.statusCode === 429) {
      assert.equal(res.json().code, 'AUTH_TOO_MANY_ATTEMPTS');
      assert.ok(Number(res.headers['retry-after']) > 0);
    }
  }
  assert.deepEqual(statuses.slice(0, 6), [401, 401, 401, 401, 401, 401]);
  assert.deepEqual(statuses.slice(6), [429, 429]);
  // Another client (the gateway forwards its address; the gateway is a trusted proxy) is not affected.
  const other = await t.call('POST', '/api/auth/login', {
    body: { email: 'spray0@example.com', password: 'guess guess guess' },
    headers: { 'x-forwarded-for': '198.51.100.7' },
  });
  assert.equal(other.statusCode, 401);
});
