import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { problemOf, startTestGateway, type TestGateway } from './harness.ts';

/**
 * Attack: use a public rule for more than it opens. The test route opens
 * `GET /public/**` and `POST /public/upload` only; another method, a longer
 * path, a look-alike segment or the route's root needs a token.
 */
describe('attack: stretching public rules', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  const open: [string, string][] = [
    ['GET', '/api/public/x'],
    ['GET', '/api/public/a/b/c'],
    ['HEAD', '/api/public/x'],
    ['POST', '/api/public/upload'],
  ];
  for (const [method, path] of open) {
    it(`opens ${method} ${path} without a token`, async () => {
      const res = await fetch(`${gw.url}${path}`, { method });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(gw.upstream.seen.at(-1)?.url, path);
      assert.equal(gw.upstream.seen.at(-1)?.headers['x-user-id'], undefined);
    });
  }

  const closed: [string, string][] = [
    ['POST', '/api/public/x'],
    ['PUT', '/api/public/x'],
    ['DELETE', '/api/public/x'],
    ['PATCH', '/api/public/upload'],
    ['POST', '/api/public/upload/more'],
    ['POST', '/api/public/uploads'],
    ['GET', '/api/publicity'],
    ['GET', '/api/public-x/y'],
    ['GET', '/api'],
    ['GET', '/api/'],
    ['GET', '/api/x/public/y'],
    ['OPTIONS', '/api/public/x'],
  ];
  for (const [method, path] of closed) {
    it(`needs a token for ${method} ${path}`, async () => {
      const arrived = gw.upstream.arrived.length;
      const res = await fetch(`${gw.url}${path}`, { method });
      assert.equal(res.status, 401);
      assert.equal((await problemOf(res)).code, 'GW_UNAUTHENTICATED');
      assert.equal(gw.upstream.arrived.length, arrived);
    });
  }

  it('ignores (and does not forward) a token sent on a public route', async () => {
    const token = await gw.token({ sub: 'should-not-appear' });
    const res = await fetch(`${gw.url}/api/public/x`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.at(-1);
    assert.equal(seen?.headers.authorization, undefined);
    assert.equal(seen?.headers['x-user-id'], undefined);
    assert.equal(seen?.headers['x-gateway-assertion'], undefined);
  });

  it('does not refuse a public request because of a garbage token', async () => {
    const res = await fetch(`${gw.url}/api/public/x`, { headers: { authorization: 'Bearer garbage' } });
    assert.equal(res.status, 200);
  });
});
