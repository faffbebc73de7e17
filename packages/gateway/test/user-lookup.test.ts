import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import { createAssertionVerifier, isPlatformServiceIdentity } from '@gatehouse/kit';
import { randomSecret, startHttpServer } from '@gatehouse/kit/testing';
import { problemOf, startTestGateway, type TestGateway } from './harness.ts';

/**
 * User lookups through the gateway, against a real HTTP server speaking the
 * identity service's internal contract: GET /internal/users/:id?tenant=
 * (and an empty revocation feed that can announce a user's revocation).
 */

interface Account {
  status: 'active' | 'disabled';
  tenantId: string;
  member: boolean;
  roles: string[];
}

async function identityServer(secret: string) {
  const accounts = new Map<string, Account>();
  const events: Record<string, unknown>[] = [];
  const state = { lookups: 0, down: false, delayMs: 0 };
  const verify = createAssertionVerifier([{ kid: 'gw1', secret }]);
  const server = await startHttpServer((req, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const checked = verify(req.headers['x-gateway-assertion'], {
      method: req.method ?? '',
      path: url.pathname,
      requestId: String(req.headers['x-request-id']),
    });
    if (!checked.ok || !isPlatformServiceIdentity(checked.identity)) return void res.writeHead(401).end();
    if (state.down) return void res.writeHead(503).end();
    if (url.pathname === '/internal/revocations') {
      const after = Number(url.searchParams.get('after') ?? '0');
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ events: events.slice(after), cursor: String(events.length) }));
    }
    const id = decodeURIComponent(url.pathname.slice('/internal/users/'.length));
    state.lookups++;
    const account = accounts.get(id);
    setTimeout(() => {
      if (account === undefined) return void res.writeHead(404).end();
      const tenant = url.searchParams.get('tenant');
      const member = account.member && account.tenantId === tenant;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id,
          status: account.status,
          tenantId: tenant,
          member,
          roles: member ? account.roles : [],
        }),
      );
    }, state.delayMs);
  });
  after(() => server.close());
  return { url: server.url, accounts, events, state };
}

async function setup() {
  const secret = randomSecret();
  const identity = await identityServer(secret);
  const gw = await startTestGateway({
    assertionSecret: secret,
    config: { identity: { url: identity.url, revocationWaitMs: 1_000, userLookup: { cacheSeconds: 300 } } },
  });
  after(() => gw.close());
  return { identity, gw };
}

function call(gw: TestGateway, token: string, method = 'GET') {
  return fetch(`${gw.url}/api/items/1`, { method, headers: { authorization: `Bearer ${token}` } });
}

describe('user lookup', () => {
  it("uses the user's current roles, not the token's, and refuses disabled users and non-members", async () => {
    const { identity, gw } = await setup();
    identity.accounts.set('alice', {
      status: 'active',
      tenantId: 'tenant-1',
      member: true,
      roles: ['member'],
    });
    const token = await gw.token({ sub: 'alice', tid: 'tenant-1', roles: ['admin'] });
    assert.equal((await call(gw, token)).status, 200);
    assert.equal(
      gw.upstream.seen.at(-1)?.headers['x-user-roles'],
      'member',
      'the current roles are forwarded',
    );
    const del = await call(gw, token, 'DELETE');
    assert.equal(del.status, 403, 'the token says admin, the identity service says member');

    identity.accounts.set('bob', {
      status: 'disabled',
      tenantId: 'tenant-1',
      member: true,
      roles: ['admin'],
    });
    identity.accounts.set('carol', {
      status: 'active',
      tenantId: 'tenant-2',
      member: true,
      roles: ['admin'],
    });
    for (const sub of ['bob', 'carol', 'nobody']) {
      const res = await call(gw, await gw.token({ sub, tid: 'tenant-1' }));
      assert.equal(res.status, 401, sub);
      assert.equal((await problemOf(res)).code, 'GW_INVALID_TOKEN');
    }
    const reasons = gw.logs.lines.filter((l) => l.msg === 'request' && l.status === 401).map((l) => l.reason);
    assert.deepEqual(reasons, ['user_disabled', 'not_a_member', 'user_unknown']);
  });

  it('caches answers, coalesces concurrent lookups, and drops a user on a revocation event', async () => {
    const { identity, gw } = await setup();
    identity.accounts.set('dave', {
      status: 'active',
      tenantId: 'tenant-1',
      member: true,
      roles: ['member'],
    });
    // Long enough that all 20 requests arrive while the first lookup is in flight, even on a busy machine.
    identity.state.delayMs = 1_000;
    const token = await gw.token({ sub: 'dave', tid: 'tenant-1' });
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(gw, token)));
    assert.ok(answers.every((r) => r.status === 200));
    assert.equal(identity.state.lookups, 1, '20 concurrent requests, one lookup');
    assert.equal((await call(gw, token)).status, 200);
    assert.equal(identity.state.lookups, 1, 'served from the cache');

    identity.state.delayMs = 0;
    identity.accounts.set('dave', {
      status: 'disabled',
      tenantId: 'tenant-1',
      member: true,
      roles: ['member'],
    });
    identity.events.push({ type: 'user', sub: 'dave', notBefore: 1 });
    const until = Date.now() + 3_000;
    while (Date.now() < until && (await call(gw, token)).status === 200)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal((await call(gw, token)).status, 401, 'looked up again after the event, now disabled');
    assert.equal(identity.state.lookups, 2);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /gateway_user_lookups_total\{result="coalesced"\} 19/);
    assert.match(metrics, /gateway_user_lookups_total\{result="hit"\} [1-9]/);
  });

  it('serves cached users while the identity service is down, and answers 503 for users it has never seen', async () => {
    const { identity, gw } = await setup();
    identity.accounts.set('erin', {
      status: 'active',
      tenantId: 'tenant-1',
      member: true,
      roles: ['member'],
    });
    identity.accounts.set('frank', {
      status: 'active',
      tenantId: 'tenant-1',
      member: true,
      roles: ['member'],
    });
    const erin = await gw.token({ sub: 'erin', tid: 'tenant-1' });
    assert.equal((await call(gw, erin)).status, 200);
    identity.state.down = true;
    assert.equal((await call(gw, erin)).status, 200, 'cached: still served');
    const frank = await call(gw, await gw.token({ sub: 'frank', tid: 'tenant-1' }));
    assert.equal(frank.status, 503);
    assert.equal((await problemOf(frank)).code, 'GW_IDENTITY_UNAVAILABLE');
    assert.equal(frank.headers.get('retry-after'), '5');
    assert.equal(gw.upstream.seen.length, 2, 'the unconfirmed user never reached the upstream');
  });
});
