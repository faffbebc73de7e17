import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawGet, rawRequest, startTestGateway, type TestGateway } from './harness.ts';

/**
 * Attack: reach a protected path through a public one (`/api/public/**` is
 * open, everything else of `/api` needs a token, `/api/admin/**` needs admin)
 * with paths that the gateway and the upstream might read differently. Sent
 * on raw sockets so nothing normalises them on the way. A path is either
 * refused (400 GW_BAD_PATH, or 404 where no route matches) and never reaches
 * the upstream, or made canonical, matched on that form and forwarded as such.
 */

describe('attack: path tricks', () => {
  let gw: TestGateway;
  let adminToken: string;
  before(async () => {
    gw = await startTestGateway();
    adminToken = await gw.token({ roles: ['admin'] });
  });
  after(() => gw.close());

  async function send(target: string, headers: string[] = [], method = 'GET') {
    const arrived = gw.upstream.arrived.length;
    const res = await rawRequest(gw.url, rawGet(target, headers, method));
    return { res, reached: gw.upstream.arrived.slice(arrived) };
  }

  const refused: [string, string][] = [
    ['encoded slash', '/api/public/..%2Fadmin/x'],
    ['encoded slash, lower case', '/api/public%2f..%2fadmin/x'],
    ['encoded backslash', '/api/public/..%5Cadmin/x'],
    ['raw backslash', '/api/public/..\\admin/x'],
    ['encoded NUL', '/api/public/x%00.json'],
    ['encoded CR LF', '/api/public/x%0D%0AX-User-Id:%20admin'],
    ['double encoding of the dots', '/api/public/%252e%252e/admin/x'],
    ['double encoding of the slash', '/api/public/..%252Fadmin/x'],
    ['Tomcat path parameter', '/api/public/..;/admin/x'],
    ['path parameter on a segment', '/api/public;x=1/../admin/x'],
    ['overlong UTF-8 dot', '/api/public/%C0%AE%C0%AE/admin/x'],
    ['invalid UTF-8', '/api/public/%FF%FE'],
    ['truncated escape', '/api/public/x%2'],
    ['bad escape', '/api/public/x%zz'],
    ['dot-dot above the root', '/../api/public/x'],
    ['dot-dot above the root later', '/api/public/../../../etc/passwd'],
    ['encoded dot-dot above the root', '/%2e%2e/api/public/x'],
    ['absolute-form target', 'http://evil.example/'],
    ['absolute-form target naming a protected path', 'http://127.0.0.1/api/admin/x'],
    ['fragment in the target', '/api/public/x#/../../admin'],
  ];
  for (const [name, target] of refused) {
    it(`refuses ${name} (${target}) with 400 GW_BAD_PATH, upstream untouched`, async () => {
      const { res, reached } = await send(target, [`Authorization: Bearer ${adminToken}`]);
      assert.equal(res.status, 400, res.raw.slice(0, 200));
      assert.equal(res.headers['content-type'], 'application/problem+json');
      assert.equal(JSON.parse(res.body).code, 'GW_BAD_PATH');
      assert.deepEqual(reached, []);
    });
  }

  it('refuses the asterisk-form target (OPTIONS *)', async () => {
    const { res, reached } = await send('*', [], 'OPTIONS');
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).code, 'GW_BAD_PATH');
    assert.deepEqual(reached, []);
  });

  const escalations: [string, string][] = [
    ['dot-dot out of the public subtree', '/api/public/../admin/x'],
    ['encoded dot-dot', '/api/public/%2e%2e/admin/x'],
    ['mixed encoded dot-dot', '/api/public/.%2E/admin/x'],
    ['dot segments and empty segments', '/api/public/./..//admin/./x'],
    ['dot-dot out of the public subtree to a plain route', '/api/public/../items'],
  ];
  for (const [name, target] of escalations) {
    it(`resolves ${name} (${target}) before deciding: no token → 401`, async () => {
      const { res, reached } = await send(target);
      assert.equal(res.status, 401, res.raw.slice(0, 200));
      assert.equal(JSON.parse(res.body).code, 'GW_UNAUTHENTICATED');
      assert.deepEqual(reached, []);
    });
  }

  it('forwards a resolved dot-dot path in its canonical form (and checks the roles of that path)', async () => {
    const member = await gw.token({ roles: ['member'] });
    const forbidden = await send('/api/public/../admin/x', [`Authorization: Bearer ${member}`]);
    assert.equal(forbidden.res.status, 403);
    assert.deepEqual(forbidden.reached, []);
    const allowed = await send('/api/public/%2e%2e/admin/x', [`Authorization: Bearer ${adminToken}`]);
    assert.equal(allowed.res.status, 200);
    assert.deepEqual(allowed.reached, ['GET /api/admin/x']);
  });

  const canonical: [string, string][] = [
    ['//api//public/x', '/api/public/x'],
    ['/api/public/./x', '/api/public/x'],
    ['/api/public/a/../x', '/api/public/x'],
    ['/api/%70ublic/x', '/api/public/x'],
    ['/ap%69/public/x', '/api/public/x'],
    ['/api/public/caf%c3%a9', '/api/public/caf%C3%A9'],
    ['/api/public/a%20b', '/api/public/a%20b'],
    ['/api/public/x?next=/../admin&q=%2F', '/api/public/x?next=/../admin&q=%2F'],
  ];
  for (const [target, expected] of canonical) {
    it(`forwards ${target} as ${expected}`, async () => {
      const { res, reached } = await send(target);
      assert.equal(res.status, 200, res.raw.slice(0, 200));
      assert.deepEqual(reached, [`GET ${expected}`]);
    });
  }

  const notFound: [string, string][] = [
    ['a prefix that is not a whole segment', '/apiX/public/x'],
    ['a prefix glued to more characters', '/api.public/x'],
    ['another case', '/API/public/x'],
    ['another case in a later segment is still the route, but not public', '/api/PUBLIC/x'],
    ['dot-dot out of the route', '/api/../other/x'],
    ['the root', '/'],
  ];
  for (const [name, target] of notFound) {
    it(`matches whole, case-sensitive segments: ${name} (${target})`, async () => {
      const { res, reached } = await send(target);
      assert.deepEqual(reached, []);
      if (target === '/api/PUBLIC/x') {
        assert.equal(res.status, 401);
        return;
      }
      assert.equal(res.status, 404, res.raw.slice(0, 200));
      assert.equal(JSON.parse(res.body).code, 'GW_ROUTE_NOT_FOUND');
    });
  }
});
