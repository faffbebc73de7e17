import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import { loadGatewayConfig } from './load.ts';

const strong = randomSecret();

function document(overrides: Record<string, unknown> = {}) {
  return {
    auth: { issuer: 'https://auth', audience: 'gatehouse', hs256Secret: { env: 'JWT_SECRET' } },
    assertion: { keys: [{ kid: 'gw1', secret: { env: 'GATEWAY_ASSERTION_SECRET' } }] },
    upstreams: { api: { url: 'http://127.0.0.1:4010' } },
    routes: [{ prefix: '/api', upstream: 'api', public: ['GET /health'] }],
    ...overrides,
  };
}

const env = { JWT_SECRET: strong, GATEWAY_ASSERTION_SECRET: randomSecret() };

function problems(doc: unknown, environment: Record<string, string | undefined> = env): readonly string[] {
  try {
    loadGatewayConfig(doc, environment, 'test.yaml');
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'CONFIG_INVALID');
    return (err as { issues: string[] }).issues;
  }
  assert.fail('expected the config to be refused');
}

describe('loadGatewayConfig', () => {
  it('resolves env references, applies defaults, freezes, and masks secrets', () => {
    const { config, masked } = loadGatewayConfig(document(), env, 'test.yaml');
    assert.equal(config.auth.hs256Secret, strong);
    assert.equal(config.listen.port, 8080);
    assert.equal(config.upstreams.api?.timeout, 'standard');
    assert.ok(Object.isFrozen(config.routes[0]));
    assert.ok(!JSON.stringify(masked).includes(strong));
    assert.ok(!JSON.stringify(masked).includes(env.GATEWAY_ASSERTION_SECRET));
  });

  it('reports every problem at once, naming keys and variables', () => {
    const issues = problems(
      document({
        listen: { port: 'eighty' },
        upstreams: { api: { url: 'ftp://x', retries: 3 } },
        routes: [
          { prefix: 'api', upstream: 'nope' },
          { prefix: '/a', upstream: 'api', public: ['FETCH /x', 'GET no-slash'] },
          { prefix: '/a', upstream: 'api' },
        ],
        unknownKey: true,
      }),
      { JWT_SECRET: 'short' },
    );
    const text = issues.join('\n');
    for (const expected of [
      'GATEWAY_ASSERTION_SECRET is not set',
      'JWT_SECRET (auth.hs256Secret: secret must be at least 32 bytes)',
      'listen.port',
      'upstreams.api.url',
      'upstreams.api',
      'routes[0].prefix',
      'routes[0].upstream: unknown upstream "nope"',
      'routes[1].public[0]',
      'routes[1].public[1]',
      'routes[2].prefix: duplicate prefix /a',
      'unknownKey',
    ]) {
      assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
    }
  });

  it('refuses well-known and low-variety secrets', () => {
    assert.match(problems(document(), { ...env, JWT_SECRET: 'your-256-bit-secret' }).join(), /well-known/);
    assert.match(problems(document(), { ...env, JWT_SECRET: 'a'.repeat(40) }).join(), /variety/);
  });

  it('needs a way to verify tokens and bounds the clock leeway', () => {
    const issues = problems(
      document({
        auth: { issuer: 'i', audience: 'a', clockToleranceSeconds: 300, maxTokenLifetimeSeconds: 3600 },
      }),
    );
    const text = issues.join('\n');
    assert.match(text, /one of jwksUrl, keys or hs256Secret is required/);
    assert.match(text, /auth\.clockToleranceSeconds/);
    assert.match(text, /auth\.maxTokenLifetimeSeconds/);
  });

  it('refuses CORS wildcards with credentials anywhere, and dev settings and trust-all proxies in production', () => {
    assert.match(
      problems(document({ cors: { origins: ['*'], credentials: true } })).join(),
      /cannot be combined/,
    );
    const production = { ...env, NODE_ENV: 'production' };
    const issues = problems(
      document({
        development: { exposeErrors: true },
        trustedProxies: ['0.0.0.0/0'],
        cors: { origins: ['*'] },
      }),
      production,
    ).join('\n');
    assert.match(issues, /development: development-only settings are refused in production/);
    assert.match(issues, /trustedProxies\[0\]: trusting every address is refused/);
    assert.match(issues, /cors\.origins: "\*" is refused in production/);
    assert.doesNotThrow(() =>
      loadGatewayConfig(document({ trustedProxies: ['10.0.0.0/8'] }), production, 'p'),
    );
  });

  it('accepts IPv6 and single-address proxies, refuses junk', () => {
    assert.doesNotThrow(() =>
      loadGatewayConfig(document({ trustedProxies: ['::1', '2001:db8::/32', '10.1.2.3'] }), env, 't'),
    );
    const text = problems(
      document({ trustedProxies: ['10.0.0.0/33', '300.1.1.1', 'proxy.local', '::1/129'] }),
    ).join('\n');
    for (const i of [0, 1, 2, 3]) assert.match(text, new RegExp(`trustedProxies\\[${i}\\]`));
  });
});
