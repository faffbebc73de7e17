import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import { loadConfig } from '../src/config.ts';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    return (err as { issues: string[] }).issues;
  }
  return [];
};

test('the assertion secret is required and must be strong; there is no fallback', () => {
  assert.ok(problems({}).some((p) => p.startsWith('GATEWAY_ASSERTION_SECRET')));
  assert.ok(problems({ GATEWAY_ASSERTION_SECRET: 'changeme' }).some((p) => p.includes('well-known')));
});

test('production refuses to start without keys, issuer, origins; refuses dev-only settings and weak argon2', () => {
  const issues = problems({
    NODE_ENV: 'production',
    GATEWAY_ASSERTION_SECRET: randomSecret(),
    AUTH_COOKIE_INSECURE_DEV: 'true',
    AUTH_DB_MEMORY: 'true',
    AUTH_ARGON2_MEMORY_KIB: '1024',
    AUTH_ARGON2_TIME_COST: '1',
    AUTH_ACCESS_TTL_SECONDS: '30',
  });
  for (const name of [
    'AUTH_SIGNING_KEYS',
    'AUTH_ISSUER',
    'AUTH_ALLOWED_ORIGINS',
    'AUTH_PUBLIC_URL',
    'AUTH_COOKIE_INSECURE_DEV',
    'AUTH_DB_MEMORY',
    'AUTH_ARGON2_MEMORY_KIB',
    'AUTH_ARGON2_TIME_COST',
    'AUTH_ACCESS_TTL_SECONDS',
  ]) {
    assert.ok(
      issues.some((p) => p.startsWith(name)),
      `${name} in ${issues.join(' | ')}`,
    );
  }
});

test('every problem at once, naming the variable; unknown AUTH_ variables are typos', () => {
  const issues = problems({
    AUTH_PORT: 'abc',
    AUTH_ACCESS_TTL_SECONDS: '3600',
    AUTH_PASSWORD_MIN_LENGTH: '6',
    AUTH_PROT: '1',
  });
  for (const name of [
    'GATEWAY_ASSERTION_SECRET',
    'AUTH_PORT',
    'AUTH_ACCESS_TTL_SECONDS',
    'AUTH_PASSWORD_MIN_LENGTH',
  ]) {
    assert.ok(
      issues.some((p) => p.startsWith(name)),
      name,
    );
  }
  assert.ok(
    issues.some((p) => p.includes('AUTH_PROT')),
    issues.join(' | '),
  );
});

test('tokens of a few seconds only outside production (a test watching a real expiry), never below 5 s', () => {
  const secret = randomSecret();
  assert.equal(
    loadConfig({ GATEWAY_ASSERTION_SECRET: secret, AUTH_ACCESS_TTL_SECONDS: '5' }).tokens.accessTtlSeconds,
    5,
  );
  for (const ttl of ['4', '0', '-1', '2.5'])
    assert.ok(
      problems({ GATEWAY_ASSERTION_SECRET: secret, AUTH_ACCESS_TTL_SECONDS: ttl }).some((p) =>
        p.startsWith('AUTH_ACCESS_TTL_SECONDS'),
      ),
      ttl,
    );
  const production = (ttl: string) =>
    problems({ NODE_ENV: 'production', GATEWAY_ASSERTION_SECRET: secret, AUTH_ACCESS_TTL_SECONDS: ttl });
  assert.ok(
    production('59').some((p) => p.startsWith('AUTH_ACCESS_TTL_SECONDS') && p.includes('production')),
  );
  assert.ok(!production('60').some((p) => p.startsWith('AUTH_ACCESS_TTL_SECONDS')));
});

test('development defaults: OWASP argon2, 10 minute tokens, PGlite under .data/auth', () => {
  const config = loadConfig({ GATEWAY_ASSERTION_SECRET: randomSecret() });
  assert.deepEqual(config.passwords.argon2, { memoryCost: 19456, timeCost: 2, parallelism: 1 });
  assert.equal(config.tokens.accessTtlSeconds, 600);
  assert.equal(config.port, 4001);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.database.kind, 'pglite');
  assert.match(config.dataDir, /\.data\/auth$/);
  assert.equal(config.passwords.minLength, 15);
});

test('production keys come from AUTH_SIGNING_KEYS and are checked', () => {
  assert.ok(
    problems({ GATEWAY_ASSERTION_SECRET: randomSecret(), AUTH_SIGNING_KEYS: '[{"jwk":{"kty":"OKP"}}]' }).some(
      (p) => p.startsWith('AUTH_SIGNING_KEYS'),
    ),
  );
  assert.ok(
    problems({ GATEWAY_ASSERTION_SECRET: randomSecret(), AUTH_SIGNING_KEYS: 'not json' }).some((p) =>
      p.startsWith('AUTH_SIGNING_KEYS'),
    ),
  );
});
