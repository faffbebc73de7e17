import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAssertionVerifier } from '@gatehouse/kit';
import { rawGet, rawRequest, type SeenRequest, startTestGateway, type TestGateway } from './harness.ts';

/**
 * Attack: the client writes the headers only the gateway may write (who the
 * user is, which tenant, the gateway's assertion, where the request came
 * from, which URL or method it "really" is), in every spelling and several
 * times, or names the gateway's own headers in `Connection` to strip them.
 * The upstream must see the gateway's values only, once each.
 */

const SPOOFED = [
  'x-user-id: attacker',
  'X-User-Id: attacker-2',
  'X_User_Id: attacker-underscore',
  'x-user-roles: admin,owner',
  'X-User-Email: attacker@evil.example',
  'x-tenant-id: other-tenant',
  'x-tenant-id: other-tenant-dup',
  'X_Tenant_Id: other-tenant-underscore',
  'X-TENANT-ID: other-tenant-upper',
  'x-gateway-assertion: forged.assertion.value',
  'X_Gateway_Assertion: forged.assertion.underscore',
  'x-forwarded-for: 6.6.6.6',
  'X-Forwarded-For: 6.6.6.7',
  'x-forwarded-host: evil.example',
  'x-forwarded-proto: https',
  'X_Forwarded_For: 6.6.6.8',
  'forwarded: for=6.6.6.6;proto=https;host=evil.example',
  'x-real-ip: 6.6.6.6',
  'x-original-url: /api/admin/evil',
  'x-rewrite-url: /api/admin/evil',
  'x-http-method-override: DELETE',
  'X-HTTP-Method: DELETE',
  'X-Method-Override: DELETE',
];
const SPOOF_MARKERS = ['attacker', 'other-tenant', 'forged', '6.6.6.', 'evil', 'DELETE', 'owner'];

const IDENTITY_PREFIXES = ['x-user', 'x-tenant', 'x-gateway'];
const NEVER_FORWARDED = [
  'forwarded',
  'x-real-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
];

/** Header names as the upstream received them, lower-cased with `_` read as `-`, with how often each came. */
function namesSeen(seen: SeenRequest): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    const name = (seen.rawHeaders[i] as string).toLowerCase().replaceAll('_', '-');
    names.set(name, [...(names.get(name) ?? []), seen.rawHeaders[i + 1] as string]);
  }
  return names;
}

function assertNoSpoofedValue(seen: SeenRequest): void {
  for (let i = 1; i < seen.rawHeaders.length; i += 2) {
    const value = seen.rawHeaders[i] as string;
    for (const marker of SPOOF_MARKERS) {
      assert.ok(!value.includes(marker), `${seen.rawHeaders[i - 1]}: ${value} reached the upstream`);
    }
  }
}

function assertGatewayForwarding(names: Map<string, string[]>): void {
  assert.deepEqual(names.get('x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(names.get('x-forwarded-proto'), ['http']);
  assert.deepEqual(names.get('x-forwarded-host'), ['gateway.test']);
  for (const name of NEVER_FORWARDED)
    assert.equal(names.get(name), undefined, `${name} reached the upstream`);
}

describe('attack: spoofed identity and forwarding headers', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  it('drops every spoofed header on a public route: no identity reaches the upstream', async () => {
    const res = await rawRequest(gw.url, rawGet('/api/public/profile', SPOOFED));
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.at(-1) as SeenRequest;
    assert.equal(seen.url, '/api/public/profile');
    assert.equal(seen.method, 'GET');
    const names = namesSeen(seen);
    for (const name of names.keys()) {
      assert.ok(
        !IDENTITY_PREFIXES.some((p) => name.startsWith(p)),
        `${name} reached the upstream of a public route`,
      );
    }
    assertGatewayForwarding(names);
    assertNoSpoofedValue(seen);
  });

  it("replaces them with the token's identity, once each, on an authenticated route", async () => {
    const token = await gw.token({ sub: 'user-42', tid: 'tenant-7', roles: ['member', 'viewer'] });
    const res = await rawRequest(
      gw.url,
      rawGet('/api/items/1', [...SPOOFED, `Authorization: Bearer ${token}`]),
    );
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.at(-1) as SeenRequest;
    assert.equal(seen.url, '/api/items/1');
    const names = namesSeen(seen);
    assert.deepEqual(names.get('x-user-id'), ['user-42']);
    assert.deepEqual(names.get('x-tenant-id'), ['tenant-7']);
    assert.deepEqual(names.get('x-user-roles'), ['member,viewer']);
    assert.equal(names.get('x-gateway-assertion')?.length, 1);
    const identityNames = [...names.keys()]
      .filter((n) => IDENTITY_PREFIXES.some((p) => n.startsWith(p)))
      .sort();
    assert.deepEqual(identityNames, ['x-gateway-assertion', 'x-tenant-id', 'x-user-id', 'x-user-roles']);
    assert.equal(names.get('authorization'), undefined, 'the access token was forwarded');
    assertGatewayForwarding(names);
    assertNoSpoofedValue(seen);
  });

  it('does not let a method override turn a public POST into something else', async () => {
    const res = await rawRequest(
      gw.url,
      [
        'POST /api/public/upload HTTP/1.1',
        'Host: gateway.test',
        'X-HTTP-Method-Override: DELETE',
        'X-Original-URL: /api/admin/users',
        'Content-Length: 2',
        'Connection: close',
        '',
        'hi',
      ].join('\r\n'),
    );
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.at(-1) as SeenRequest;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/api/public/upload');
    assert.equal(seen.body.toString(), 'hi');
    const names = namesSeen(seen);
    assert.equal(names.get('x-http-method-override'), undefined);
    assert.equal(names.get('x-original-url'), undefined);
  });

  it("cannot strip the gateway's headers by naming them in Connection", async () => {
    const token = await gw.token({ sub: 'user-conn', tid: 'tenant-conn' });
    const res = await rawRequest(
      gw.url,
      rawGet('/api/items/2', [
        `Authorization: Bearer ${token}`,
        'Connection: x-user-id, x-tenant-id, x-user-roles, x-request-id, traceparent, x-gateway-assertion',
        'Connection: x-forwarded-for, x-forwarded-proto, x-forwarded-host',
      ]),
    );
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.at(-1) as SeenRequest;
    const names = namesSeen(seen);
    assert.deepEqual(names.get('x-user-id'), ['user-conn']);
    assert.deepEqual(names.get('x-tenant-id'), ['tenant-conn']);
    assert.deepEqual(names.get('x-user-roles'), ['member']);
    assert.equal(names.get('x-gateway-assertion')?.length, 1);
    assert.equal(names.get('x-request-id')?.length, 1);
    assert.equal(names.get('x-request-id')?.[0], res.headers['x-request-id']);
    assert.match(names.get('traceparent')?.[0] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
    assertGatewayForwarding(names);
    assert.equal(names.get('connection')?.some((v) => v.includes('x-user-id')) ?? false, false);
  });

  it('removes an ordinary header the client named in Connection (hop-by-hop)', async () => {
    const res = await rawRequest(
      gw.url,
      rawGet('/api/public/x', ['Connection: x-private-hop', 'X-Private-Hop: 1']),
    );
    assert.equal(res.status, 200);
    const names = namesSeen(gw.upstream.seen.at(-1) as SeenRequest);
    assert.equal(names.get('x-private-hop'), undefined);
  });

  it('signs an assertion the upstream can verify, bound to method, path and request id', async () => {
    const token = await gw.token({ sub: 'user-9', tid: 'tenant-9', roles: ['member'] });
    const res = await fetch(`${gw.url}/api/items/42?expand=owner`, {
      headers: { authorization: `Bearer ${token}`, 'x-gateway-assertion': 'forged' },
    });
    assert.equal(res.status, 200);
    const seen = gw.upstream.seen.at(-1) as SeenRequest;
    assert.equal(seen.url, '/api/items/42?expand=owner');
    const requestId = seen.headers['x-request-id'] as string;
    assert.equal(requestId, res.headers.get('x-request-id'));
    const assertion = seen.headers['x-gateway-assertion'];
    const verify = createAssertionVerifier([{ kid: 'gw1', secret: gw.assertionSecret }]);
    const result = verify(assertion, { method: 'GET', path: '/api/items/42', requestId });
    assert.equal(result.ok, true, JSON.stringify(result));
    if (result.ok) {
      assert.equal(result.identity.sub, 'user-9');
      assert.equal(result.identity.tid, 'tenant-9');
      assert.deepEqual([...result.identity.roles], ['member']);
      // The access token's own expiry rides along, so a service can end a WebSocket in time.
      const tokenExp = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).exp;
      assert.equal(typeof tokenExp, 'number');
      assert.equal(result.identity.tokenExp, tokenExp);
    }
    // The same assertion is worthless on another request.
    assert.deepEqual(verify(assertion, { method: 'DELETE', path: '/api/items/42', requestId }), {
      ok: false,
      reason: 'wrong_request',
    });
    assert.deepEqual(verify(assertion, { method: 'GET', path: '/api/admin/users', requestId }), {
      ok: false,
      reason: 'wrong_request',
    });
    assert.deepEqual(
      verify(assertion, { method: 'GET', path: '/api/items/42', requestId: 'another-request-id' }),
      {
        ok: false,
        reason: 'wrong_request',
      },
    );
    // And a verifier with another secret refuses it.
    const other = createAssertionVerifier([{ kid: 'gw1', secret: 'x'.repeat(43) }]);
    assert.equal(other(assertion, { method: 'GET', path: '/api/items/42', requestId }).ok, false);
  });

  it('logs the dropped identity headers without their values', async () => {
    await rawRequest(gw.url, rawGet('/api/public/log-check', ['X_User_Id: attacker-logged']));
    const text = gw.logs.text();
    assert.ok(!text.includes('attacker-logged'), 'a spoofed value was logged');
    assert.ok(gw.logs.lines.some((l) => l.event === 'identity_header_dropped'));
  });
});
