import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { baseEnv, CLI, MAIN, NODE } from './process.ts';

test('production without keys or with dev settings refuses to start, naming every variable, exit 1', () => {
  const env = {
    ...baseEnv(),
    NODE_ENV: 'production',
    AUTH_COOKIE_INSECURE_DEV: 'true',
    GATEWAY_ASSERTION_SECRET: 'secret',
  };
  const run = spawnSync(NODE, [MAIN], { env, encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 1);
  for (const name of [
    'AUTH_SIGNING_KEYS',
    'AUTH_ISSUER',
    'AUTH_COOKIE_INSECURE_DEV',
    'GATEWAY_ASSERTION_SECRET',
    'AUTH_ARGON2_MEMORY_KIB',
  ]) {
    assert.match(run.stderr, new RegExp(name), `${name} named in:\n${run.stderr}`);
  }
});

test('the migrate and rotate-keys commands', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-auth-cli-'));
  const env = baseEnv(dataDir);
  const migrate = spawnSync(NODE, [CLI, 'migrate'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(migrate.status, 0, migrate.stderr);
  const applied = /applied (\d+) \((.*)\)/.exec(migrate.stdout);
  assert.ok(applied !== null && Number(applied[1]) >= 1 && applied[2]?.includes('init'), migrate.stdout);
  assert.ok(existsSync(join(dataDir, 'db')));
  const twice = spawnSync(NODE, [CLI, 'migrate'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.match(twice.stdout, new RegExp(`applied 0 \\(none\\), ${applied?.[1]} already applied`));
  const rotate = spawnSync(NODE, [CLI, 'rotate-keys'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(rotate.status, 0, rotate.stderr);
  assert.match(rotate.stdout, /new key .* is published now and signs from/);
  assert.equal(readdirSync(join(dataDir, 'keys')).length, 1, 'first rotation on an empty dir makes one key');
  const second = spawnSync(NODE, [CLI, 'rotate-keys'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.match(second.stdout, /retiring at that time/);
  assert.equal(readdirSync(join(dataDir, 'keys')).length, 2);
});
