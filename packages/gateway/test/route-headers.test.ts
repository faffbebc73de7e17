import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { problemOf, startTestGateway, type TestGateway } from './harness.ts';

/**
 * A route's own headers (the web app's Content-Security-Policy) are on its
 * answers, proxied or refused, and on no other route's; a prefix the route
 * excepts is a 404 from the gateway, never the route's upstream.
 */

const CSP = "default-src 'self'; script-src 'self'";

describe('per-route headers and excepted prefixes', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      config: {
        routes: [
          { prefix: '/api/known', upstream: 'echo', public: ['GET /**'] },
          {
            prefix: '/',
            upstream: 'echo',
            except: ['/api'],
            public: ['GET /**'],
            headers: { 'Content-Security-Policy': CSP, 'X-Frame-Options': 'SAMEORIGIN' },
          },
        ],
      },
    });
  });
  after(() => gw.close());

  it("puts the route's headers on its proxied answers, over the gateway-wide defaults", async () => {
    const res = await fetch(`${gw.url}/team`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), CSP);
    assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  it("puts them on the route's refusals too", async () => {
    const res = await fetch(`${gw.url}/team`, { method: 'POST' });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('content-security-policy'), CSP);
  });

  it('keeps them off other routes', async () => {
    const res = await fetch(`${gw.url}/api/known/x`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), null);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
  });

  it('answers an excepted prefix with the 404 problem, without calling the upstream', async () => {
    const before = gw.upstream.seen.length;
    const res = await fetch(`${gw.url}/api/other/thing`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal((await problemOf(res)).code, 'GW_ROUTE_NOT_FOUND');
    assert.equal(gw.upstream.seen.length, before);
  });
});
