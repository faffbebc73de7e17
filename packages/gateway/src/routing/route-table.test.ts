import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadGatewayConfig } from '../config/load.ts';
import { parseRule, RouteTable, relativeSegments, ruleMatches } from './route-table.ts';

const secret = 'k2J9s8dF7g6H5j4K3l2Z1x0CvBnMqWeRtYuIoP';

function table(
  routes: unknown[],
  upstreams: Record<string, unknown> = { a: { url: 'http://127.0.0.1:1/base/' } },
) {
  const { config } = loadGatewayConfig(
    {
      auth: { issuer: 'i', audience: 'a', hs256Secret: secret },
      assertion: { keys: [{ kid: 'gw1', secret }] },
      upstreams,
      routes,
    },
    {},
    'test',
  );
  return new RouteTable(config);
}

describe('RouteTable', () => {
  it('matches prefixes on whole segments, longest first', () => {
    const t = table([
      { prefix: '/api/venues', upstream: 'a' },
      { prefix: '/api/venues/admin', upstream: 'a', timeout: 'batch' },
      { prefix: '/', upstream: 'a' },
    ]);
    assert.equal(t.match('/api/venues')?.prefix, '/api/venues');
    assert.equal(t.match('/api/venues/1')?.prefix, '/api/venues');
    assert.equal(t.match('/api/venues/admin/x')?.prefix, '/api/venues/admin');
    assert.equal(t.match('/api/venues/admin/x')?.timeoutMs, 120_000);
    assert.equal(t.match('/api/venuesX')?.prefix, '/');
    assert.equal(t.match('/other')?.prefix, '/');
  });

  it('leaves the prefixes a route excepts to longer routes, else to nothing (a 404)', () => {
    const t = table([
      { prefix: '/', upstream: 'a', except: ['/api'] },
      { prefix: '/api/auth', upstream: 'a' },
    ]);
    assert.equal(t.match('/api/auth/login')?.prefix, '/api/auth');
    assert.equal(t.match('/api/unknown'), undefined);
    assert.equal(t.match('/api'), undefined);
    assert.equal(t.match('/apix')?.prefix, '/');
    assert.equal(t.match('/team')?.prefix, '/');
  });

  it('refuses an except that is not under the route prefix', () => {
    assert.throws(() => table([{ prefix: '/app', upstream: 'a', except: ['/api'] }]), /except/);
    assert.throws(() => table([{ prefix: '/app', upstream: 'a', except: ['/app'] }]), /except/);
    assert.equal(table([{ prefix: '/app', upstream: 'a', except: ['/app/x'] }]).match('/app/x/1'), undefined);
  });

  it("compiles a route's headers with lower-case names and refuses line breaks in values", () => {
    const t = table([
      { prefix: '/', upstream: 'a', headers: { 'Content-Security-Policy': "default-src 'self'" } },
    ]);
    assert.deepEqual(t.match('/x')?.headers, { 'content-security-policy': "default-src 'self'" });
    assert.throws(
      () => table([{ prefix: '/', upstream: 'a', headers: { 'x-a': 'v\r\nx-b: 1' } }]),
      /line breaks/,
    );
    assert.throws(
      () => table([{ prefix: '/', upstream: 'a', headers: { 'bad name': 'v' } }]),
      /headers.bad name: Invalid key/,
    );
  });

  it('answers nothing for an unmatched path when there is no catch-all', () => {
    const t = table([{ prefix: '/api', upstream: 'a' }]);
    assert.equal(t.match('/apix'), undefined);
    assert.equal(t.match('/'), undefined);
  });

  it('compiles the upstream origin, base path and timeout class', () => {
    const t = table([{ prefix: '/api', upstream: 'a' }], {
      a: { url: 'http://127.0.0.1:9/v1/', timeout: 'slow' },
    });
    const route = t.match('/api/x');
    assert.equal(route?.upstream.origin, 'http://127.0.0.1:9');
    assert.equal(route?.upstream.basePath, '/v1');
    assert.equal(route?.timeoutMs, 60_000);
    assert.deepEqual(relativeSegments(route!, '/api/x/y'), ['x', 'y']);
  });

  it('gives the relative segments of a catch-all route', () => {
    const t = table([{ prefix: '/', upstream: 'a' }]);
    assert.deepEqual(relativeSegments(t.match('/a/b')!, '/a/b'), ['a', 'b']);
  });
});

describe('rules', () => {
  it('match methods, HEAD as GET, and every path with *', () => {
    const rule = parseRule('DELETE *');
    assert.equal(ruleMatches(rule, 'DELETE', ['x', 'y']), true);
    assert.equal(ruleMatches(rule, 'GET', ['x']), false);
    assert.equal(ruleMatches(parseRule('GET /health'), 'HEAD', ['health']), true);
    assert.equal(ruleMatches(parseRule('* /health'), 'POST', ['health']), true);
    assert.equal(ruleMatches(parseRule('GET,POST /a'), 'POST', ['a']), true);
    assert.equal(ruleMatches(parseRule('GET,POST /a'), 'PUT', ['a']), false);
  });

  it('match segments: literal, *, :param and ** as the rest', () => {
    assert.equal(ruleMatches(parseRule('GET /health'), 'GET', ['health']), true);
    assert.equal(ruleMatches(parseRule('GET /health'), 'GET', ['health', 'x']), false);
    assert.equal(ruleMatches(parseRule('GET /health'), 'GET', []), false);
    assert.equal(ruleMatches(parseRule('GET /events/*'), 'GET', ['events', '1']), true);
    assert.equal(ruleMatches(parseRule('GET /events/*'), 'GET', ['events']), false);
    assert.equal(ruleMatches(parseRule('GET /events/:id/tickets'), 'GET', ['events', '9', 'tickets']), true);
    assert.equal(ruleMatches(parseRule('GET /events/:id/tickets'), 'GET', ['events', '9', 'seats']), false);
    assert.equal(ruleMatches(parseRule('GET /docs/**'), 'GET', ['docs']), true);
    assert.equal(ruleMatches(parseRule('GET /docs/**'), 'GET', ['docs', 'a', 'b']), true);
    assert.equal(ruleMatches(parseRule('GET /**'), 'GET', []), true);
  });
});
