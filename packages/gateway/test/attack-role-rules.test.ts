import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { problemOf, startTestGateway, type TestGateway } from './harness.ts';

/**
 * Attack: a valid user without the needed role tries what the route's role
 * rules reserve (`DELETE *` → admin, `* /admin/**` → admin or owner). Rules
 * add up: every matching rule must be satisfied.
 */
const FORBIDDEN_CHALLENGE = 'Bearer realm="gatehouse", error="insufficient_scope"';

describe('attack: role rules', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  async function call(method: string, path: string, roles: string[]): Promise<Response> {
    const token = await gw.token({ roles });
    return fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  }

  async function expectForbidden(method: string, path: string, roles: string[]): Promise<void> {
    const arrived = gw.upstream.arrived.length;
    const res = await call(method, path, roles);
    assert.equal(res.status, 403, `${method} ${path} with [${roles}]`);
    assert.equal(res.headers.get('www-authenticate'), FORBIDDEN_CHALLENGE);
    if (method === 'HEAD') {
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
    } else {
      const body = await problemOf(res);
      assert.equal(body.code, 'GW_FORBIDDEN');
      assert.equal(body.status, 403);
    }
    assert.equal(gw.upstream.arrived.length, arrived, 'the upstream saw a forbidden request');
  }

  async function expectAllowed(method: string, path: string, roles: string[]): Promise<void> {
    const res = await call(method, path, roles);
    assert.equal(res.status, 200, `${method} ${path} with [${roles}]`);
    await res.arrayBuffer();
    const seen = gw.upstream.seen.at(-1);
    assert.equal(seen?.method, method);
    assert.equal(seen?.url, path);
    assert.equal(seen?.headers['x-user-roles'], roles.join(','));
  }

  it('refuses DELETE without the admin role: 403 GW_FORBIDDEN, insufficient_scope', async () => {
    await expectForbidden('DELETE', '/api/items/1', ['member']);
    await expectForbidden('DELETE', '/api/items/1', []);
    await expectForbidden('DELETE', '/api/items/1', ['Admin']);
    await expectForbidden('DELETE', '/api/items/1', ['admin ']);
  });

  it('lets DELETE through with the admin role', async () => {
    await expectAllowed('DELETE', '/api/items/1', ['member', 'admin']);
  });

  it('guards every method under /admin/** for admin or owner', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'HEAD']) {
      await expectForbidden(method, '/api/admin/users', ['member']);
    }
    await expectForbidden('GET', '/api/admin', ['member']);
    await expectAllowed('GET', '/api/admin/users', ['owner']);
    await expectAllowed('POST', '/api/admin/users', ['admin']);
  });

  it('adds rules up: DELETE under /admin needs admin even for an owner', async () => {
    await expectForbidden('DELETE', '/api/admin/users/7', ['owner']);
    await expectAllowed('DELETE', '/api/admin/users/7', ['admin']);
  });

  it('does not mistake /adminx or /x/admin for the /admin subtree', async () => {
    await expectAllowed('GET', '/api/adminx', ['member']);
    await expectAllowed('GET', '/api/x/admin', ['member']);
  });

  it('checks authentication before roles: no token on DELETE is a 401, not a 403', async () => {
    const res = await fetch(`${gw.url}/api/items/1`, { method: 'DELETE' });
    assert.equal(res.status, 401);
    assert.equal((await problemOf(res)).code, 'GW_UNAUTHENTICATED');
  });
});
