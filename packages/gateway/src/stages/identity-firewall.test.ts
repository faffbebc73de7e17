import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureLogger } from '@gatehouse/kit/testing';
import { ClientAddressResolver } from '../routing/client-address.ts';
import { contextFor } from '../test-context.ts';
import { createIdentityFirewall, isDeniedHeader } from './identity-firewall.ts';

function firewall(trusted: string[] = []) {
  const logs = captureLogger();
  return {
    run: createIdentityFirewall({ clientAddress: new ClientAddressResolver(trusted), logger: logs.logger }),
    logs,
  };
}

describe('identityFirewall', () => {
  it('drops every client-sent identity and forwarding header, in any spelling and duplicate', () => {
    const { run, logs } = firewall();
    const spoofed = [
      'X-User-Id',
      'admin',
      'x-user-id',
      'again',
      'X_User_Id',
      'under',
      'x-USER-roles',
      'owner',
      'X-Tenant-Id',
      't2',
      'x_tenant_id',
      't3',
      'X-Gateway-Assertion',
      'forged',
      'X-Forwarded-For',
      '6.6.6.6',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'evil',
      'Forwarded',
      'for=6.6.6.6',
      'X-Real-IP',
      '6.6.6.6',
      'X-Original-URL',
      '/admin',
      'X-Rewrite-URL',
      '/admin',
      'X-HTTP-Method-Override',
      'DELETE',
      'X-Auth-Request-User',
      'root',
      'Remote-User',
      'root',
      'True-Client-IP',
      '6.6.6.6',
    ];
    const ctx = contextFor({
      rawHeaders: [...spoofed, 'Accept', 'application/json', 'Content-Type', 'text/plain'],
    });
    run(ctx);
    assert.deepEqual(ctx.headers, { accept: 'application/json', 'content-type': 'text/plain' });
    assert.equal(ctx.clientIp, '127.0.0.1');
    assert.equal(ctx.proto, 'http');
    const event = logs.lines.find((l) => l.event === 'identity_header_dropped');
    assert.ok(event, 'a spoofing attempt is logged');
    assert.ok(!logs.text().includes('forged'), 'header values are not logged');
  });

  it('removes hop-by-hop headers and those the client names in Connection', () => {
    const { run, logs } = firewall();
    const ctx = contextFor({
      rawHeaders: [
        'Connection',
        'keep-alive, X-Secret, Accept',
        'Keep-Alive',
        'timeout=5',
        'TE',
        'trailers',
        'Transfer-Encoding',
        'chunked',
        'Upgrade',
        'h2c',
        'Proxy-Authorization',
        'x',
        'Expect',
        '100-continue',
        'Host',
        'gw.example',
        'X-Secret',
        's',
        'Accept',
        '*/*',
        'X-Request-Id',
        'abcdefgh',
        'Traceparent',
        'x',
        'Cookie',
        'a=1',
        'Cookie',
        'b=2',
      ],
    });
    run(ctx);
    assert.deepEqual(ctx.headers, { cookie: ['a=1', 'b=2'] });
    assert.equal(ctx.host, 'gw.example');
    assert.equal(logs.lines.length, 0);
  });

  it('keeps the Authorization header aside, counting duplicates', () => {
    const { run } = firewall();
    const one = contextFor({ rawHeaders: ['Authorization', 'Bearer a'] });
    run(one);
    assert.equal(one.authorization, 'Bearer a');
    assert.equal(one.authorizationCount, 1);
    assert.equal('authorization' in one.headers, false);
    const two = contextFor({ rawHeaders: ['Authorization', 'Bearer a', 'authorization', 'Bearer b'] });
    run(two);
    assert.equal(two.authorization, undefined);
    assert.equal(two.authorizationCount, 2);
  });

  it('believes x-forwarded-for and -proto only from trusted proxies', () => {
    const untrusted = firewall();
    const a = contextFor({
      rawHeaders: ['X-Forwarded-For', '6.6.6.6', 'X-Forwarded-Proto', 'https'],
      remoteAddress: '10.0.0.9',
    });
    untrusted.run(a);
    assert.equal(a.clientIp, '10.0.0.9');
    assert.equal(a.proto, 'http');

    const trusted = firewall(['10.0.0.0/8']);
    const b = contextFor({
      rawHeaders: ['X-Forwarded-For', '6.6.6.6, 203.0.113.7, 10.0.0.3', 'X-Forwarded-Proto', 'https'],
      remoteAddress: '::ffff:10.0.0.9',
    });
    trusted.run(b);
    assert.equal(b.clientIp, '203.0.113.7');
    assert.equal(b.proto, 'https');
    assert.equal('x-forwarded-for' in b.headers, false);

    const c = contextFor({
      rawHeaders: ['X-Forwarded-Proto', 'gopher'],
      remoteAddress: '10.0.0.9',
      encrypted: true,
    });
    trusted.run(c);
    assert.equal(c.proto, 'https');
  });

  it('refuses a Host header that is not a host', () => {
    const { run } = firewall();
    const ctx = contextFor({ rawHeaders: ['Host', 'evil.example/<script>'] });
    run(ctx);
    assert.equal(ctx.host, '');
    const ipv6 = contextFor({ rawHeaders: ['Host', '[::1]:8080'] });
    run(ipv6);
    assert.equal(ipv6.host, '[::1]:8080');
  });

  it('treats underscores as dashes when deciding', () => {
    assert.equal(isDeniedHeader('x_forwarded_for'), true);
    assert.equal(isDeniedHeader('x-userid'), true);
    assert.equal(isDeniedHeader('x-request-id'), false);
    assert.equal(isDeniedHeader('content_type'), false);
  });
});

describe('ClientAddressResolver', () => {
  it('walks x-forwarded-for from the right past trusted hops only', () => {
    const r = new ClientAddressResolver(['10.0.0.0/8', '2001:db8::/32']);
    assert.equal(r.resolve('10.1.1.1', '1.1.1.1, 10.2.2.2'), '1.1.1.1');
    assert.equal(r.resolve('10.1.1.1', '10.3.3.3, 10.2.2.2'), '10.3.3.3');
    assert.equal(r.resolve('10.1.1.1', 'junk, 9.9.9.9'), '9.9.9.9');
    assert.equal(r.resolve('10.1.1.1', 'junk'), '10.1.1.1');
    assert.equal(r.resolve('9.9.9.9', '1.1.1.1'), '9.9.9.9');
    assert.equal(r.resolve('2001:db8::1', '2001:db9::5'), '2001:db9::5');
    assert.equal(r.resolve('10.1.1.1', undefined), '10.1.1.1');
    assert.equal(r.isTrusted('not-an-ip'), false);
  });

  it('trusts nobody by default', () => {
    const r = new ClientAddressResolver([]);
    assert.equal(r.isTrusted('127.0.0.1'), false);
    assert.equal(r.resolve('127.0.0.1', '1.2.3.4'), '127.0.0.1');
  });
});
