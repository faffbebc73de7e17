import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAssertionVerifier } from '@gatehouse/kit';
import {
  rawGet,
  rawRequest,
  type SeenRequest,
  startEchoUpstream,
  startTestGateway,
  type TestGateway,
} from './harness.ts';

/**
 * Attack: cross-tenant confusion under load. Many users of many tenants call
 * at once over shared keep-alive connections; each forwarded request must
 * carry its own caller's identity and an assertion bound to itself, never a
 * neighbour's. Also checks the assertion binding when the route strips its
 * prefix and the upstream has a base path.
 */
describe('attack: identity mixing between concurrent requests', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  it('forwards 150 concurrent requests of 150 users, each with its own identity and assertion', async () => {
    const verify = createAssertionVerifier([{ kid: 'gw1', secret: gw.assertionSecret }]);
    const users = Array.from({ length: 150 }, (_, i) => ({ sub: `user-${i}`, tid: `tenant-${i % 7}` }));
    const tokens = await Promise.all(
      users.map((u) => gw.token({ sub: u.sub, tid: u.tid, roles: [`r${u.sub}`] })),
    );
    const before = gw.upstream.seen.length;
    await Promise.all(
      users.map(async (u, i) => {
        const res = await fetch(`${gw.url}/api/whoami/${u.sub}`, {
          headers: { authorization: `Bearer ${tokens[i]}` },
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }),
    );
    const seen = gw.upstream.seen.slice(before);
    assert.equal(seen.length, users.length);
    const requestIds = new Set<string>();
    for (const request of seen as SeenRequest[]) {
      const sub = request.url.split('/').at(-1) as string;
      const user = users.find((u) => u.sub === sub);
      assert.ok(user, request.url);
      assert.equal(request.headers['x-user-id'], user.sub);
      assert.equal(request.headers['x-tenant-id'], user.tid);
      assert.equal(request.headers['x-user-roles'], `r${user.sub}`);
      const requestId = request.headers['x-request-id'] as string;
      requestIds.add(requestId);
      const result = verify(request.headers['x-gateway-assertion'], {
        method: 'GET',
        path: request.url,
        requestId,
      });
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.identity.sub, user.sub);
      assert.equal(result.identity.tid, user.tid);
    }
    assert.equal(requestIds.size, users.length, 'two requests shared a request id');
  });
});

describe('assertion binding with stripPrefix and an upstream base path', () => {
  let gw: TestGateway;
  before(async () => {
    const upstream = await startEchoUpstream();
    gw = await startTestGateway({
      upstream,
      config: {
        upstreams: { based: { url: `${upstream.url}/base/`, timeout: 'fast' } },
        routes: [
          { prefix: '/svc', upstream: 'based', stripPrefix: true, roles: { '* /admin/**': ['admin'] } },
        ],
      },
    });
  });
  after(async () => {
    await gw.close();
    await gw.upstream.close();
  });

  it('binds the assertion to the path the upstream receives', async () => {
    const res = await fetch(`${gw.url}/svc/items/1?x=1`, {
      headers: { authorization: `Bearer ${await gw.token({ sub: 'user-base' })}` },
    });
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.at(-1) as SeenRequest;
    assert.equal(seen.url, '/base/items/1?x=1');
    const verify = createAssertionVerifier([{ kid: 'gw1', secret: gw.assertionSecret }]);
    const result = verify(seen.headers['x-gateway-assertion'], {
      method: 'GET',
      path: '/base/items/1',
      requestId: seen.headers['x-request-id'] as string,
    });
    assert.ok(result.ok, JSON.stringify(result));
  });

  it('applies role rules to the path after the prefix, whatever dot segments say', async () => {
    const member = await gw.token({ roles: ['member'] });
    for (const path of ['/svc/admin/x', '/svc/items/../admin/x', '/svc//admin/x']) {
      const arrived = gw.upstream.arrived.length;
      const res = await rawRequest(gw.url, rawGet(path, [`Authorization: Bearer ${member}`]));
      assert.equal(res.status, 403, path);
      assert.equal(gw.upstream.arrived.length, arrived, path);
    }
  });
});
