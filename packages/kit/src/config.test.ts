import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  ConfigError,
  deepFreeze,
  envRefPaths,
  formatZodIssues,
  isProduction,
  maskSecrets,
  parseConfig,
  readYamlFile,
  resolveEnvRefs,
  secretString,
} from './config.ts';
import { randomSecret } from './testing.ts';

const schema = z.object({
  listen: z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }),
  upstreams: z.array(z.object({ name: z.string(), url: z.url() })),
  logLevel: z.enum(['info', 'debug']),
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

function configError(fn: () => unknown): ConfigError {
  const err = catchError(fn);
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
  assert.equal(err.code, 'CONFIG_INVALID');
  assert.equal(err.name, 'ConfigError');
  return err;
}

describe('parseConfig', () => {
  it('returns the parsed value', () => {
    const config = parseConfig(
      schema,
      {
        listen: { host: '127.0.0.1', port: 8080 },
        upstreams: [{ name: 'a', url: 'http://a.test' }],
        logLevel: 'info',
      },
      'gateway.yaml',
    );
    assert.equal(config.listen.port, 8080);
    assert.equal(config.upstreams[0]?.name, 'a');
  });

  it('collects every problem at once, each naming its key', () => {
    const err = configError(() =>
      parseConfig(
        schema,
        { listen: { host: 7, port: 70000 }, upstreams: [{ name: 'a', url: 'not a url' }], logLevel: 'loud' },
        'gateway.yaml',
      ),
    );
    assert.equal(err.issues.length, 4, err.message);
    const keys = err.issues.map((issue) => issue.split(':')[0]);
    assert.deepEqual(keys.sort(), ['listen.host', 'listen.port', 'logLevel', 'upstreams[0].url']);
    assert.match(err.message, /^gateway\.yaml: 4 configuration problem\(s\)\n {2}- /);
    for (const issue of err.issues) assert.ok(err.message.includes(issue));
  });

  it('names (root) when the whole document is wrong', () => {
    const err = configError(() => parseConfig(schema, null, 'empty.yaml'));
    assert.equal(err.issues.length, 1);
    assert.match(err.issues[0] ?? '', /^\(root\): /);
  });

  it('deep-freezes the result', () => {
    const config = parseConfig(
      schema,
      { listen: { host: 'h', port: 1 }, upstreams: [{ name: 'a', url: 'http://a.test' }], logLevel: 'info' },
      'x',
    );
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.listen));
    assert.ok(Object.isFrozen(config.upstreams));
    assert.ok(Object.isFrozen(config.upstreams[0]));
    assert.throws(() => {
      (config.listen as { port: number }).port = 2;
    }, TypeError);
    assert.throws(() => {
      (config.upstreams as { name: string; url: string }[]).push({ name: 'b', url: 'http://b.test' });
    }, TypeError);
    assert.equal(config.listen.port, 1);
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays and leaves primitives alone', () => {
    const value = { a: { b: [{ c: 1 }] }, n: null, s: 'x' };
    assert.equal(deepFreeze(value), value);
    assert.ok(Object.isFrozen(value.a.b[0]));
    assert.equal(deepFreeze(3), 3);
    assert.equal(deepFreeze(null), null);
  });
});

describe('formatZodIssues', () => {
  it('formats one line per issue with the path', () => {
    const result = z.object({ a: z.array(z.string()) }).safeParse({ a: ['x', 1] });
    assert.equal(result.success, false);
    if (!result.success) {
      const lines = formatZodIssues(result.error);
      assert.equal(lines.length, 1);
      assert.match(lines[0] ?? '', /^a\[1\]: /);
    }
  });
});

describe('isProduction', () => {
  it('is true only for NODE_ENV=production', () => {
    assert.equal(isProduction({ NODE_ENV: 'production' }), true);
    assert.equal(isProduction({ NODE_ENV: 'development' }), false);
    assert.equal(isProduction({ NODE_ENV: 'Production' }), false);
    assert.equal(isProduction({}), false);
  });
});

describe('resolveEnvRefs', () => {
  it('replaces every { env: NAME } with the value, in objects and arrays', () => {
    const issues: string[] = [];
    const out = resolveEnvRefs(
      { a: { env: 'A' }, list: [{ secret: { env: 'B' } }, 'plain'], n: 3, nothing: null },
      { A: 'one', B: 'two' },
      issues,
    );
    assert.deepEqual(out, { a: 'one', list: [{ secret: 'two' }, 'plain'], n: 3, nothing: null });
    assert.deepEqual(issues, []);
  });

  it('reports every missing or empty variable with its name and key path, without a fallback', () => {
    const issues: string[] = [];
    const out = resolveEnvRefs(
      { auth: { keys: [{ kid: 'k1', secret: { env: 'MISSING_SECRET' } }] }, port: { env: 'EMPTY_PORT' } },
      { EMPTY_PORT: '' },
      issues,
    ) as { auth: { keys: { secret: unknown }[] }; port: unknown };
    assert.deepEqual(issues, [
      'auth.keys[0].secret: environment variable MISSING_SECRET is not set',
      'port: environment variable EMPTY_PORT is not set',
    ]);
    assert.equal(out.auth.keys[0]?.secret, undefined);
    assert.equal(out.port, undefined);
  });

  it('does not treat objects with other keys as references', () => {
    const issues: string[] = [];
    const value = { ref: { env: 'A', default: 'fallback' }, notString: { env: 5 } };
    assert.deepEqual(resolveEnvRefs(value, {}, issues), value);
    assert.deepEqual(issues, []);
  });
});

describe('envRefPaths', () => {
  it('lists the key path of every reference', () => {
    const paths = envRefPaths({
      listen: { port: { env: 'PORT' }, host: 'h' },
      keys: [
        { kid: 'a', secret: { env: 'S1' } },
        { kid: 'b', secret: { env: 'S2' } },
      ],
      flat: [{ env: 'X' }],
      root: null,
    });
    assert.deepEqual(paths, [
      ['listen', 'port'],
      ['keys', '0', 'secret'],
      ['keys', '1', 'secret'],
      ['flat', '0'],
    ]);
    assert.deepEqual(envRefPaths({ env: 'WHOLE' }), [[]]);
    assert.deepEqual(envRefPaths('plain'), []);
  });
});

describe('readYamlFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kit-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parses a YAML file', () => {
    const path = join(dir, 'ok.yaml');
    writeFileSync(path, 'listen: { host: 127.0.0.1, port: { env: PORT } }\nlist:\n  - 1\n  - two\n');
    assert.deepEqual(readYamlFile(path), {
      listen: { host: '127.0.0.1', port: { env: 'PORT' } },
      list: [1, 'two'],
    });
  });

  it('refuses invalid YAML with a ConfigError naming the file', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'listen: { host: [unclosed\n');
    const err = configError(() => readYamlFile(path));
    assert.equal(err.issues.length, 1);
    assert.match(err.issues[0] ?? '', /^not valid YAML: /);
    assert.ok(err.message.startsWith(path));
  });

  it('refuses duplicate keys', () => {
    const path = join(dir, 'dup.yaml');
    writeFileSync(path, 'port: 1\nhost: a\nport: 2\n');
    const err = configError(() => readYamlFile(path));
    assert.match(err.issues[0] ?? '', /^not valid YAML: .*unique/is);
  });

  it('refuses a missing file', () => {
    const path = join(dir, 'nope.yaml');
    const err = configError(() => readYamlFile(path));
    assert.match(err.issues[0] ?? '', /^cannot read the file: .*ENOENT/);
  });
});

describe('maskSecrets', () => {
  it('masks secret-looking keys at any depth and leaves other keys alone', () => {
    const value = {
      listen: { host: '127.0.0.1', port: 8080 },
      database: { url: 'postgres://db/app', password: 'p@ss', dsn: 'postgres://u:p@db/app' },
      auth: { clientSecret: 'cs', apiKey: 'ak', privateKey: 'pk', accessToken: 'at', credentials: 'cr' },
      assertion: { keys: [{ kid: 'gw1', secret: 's1' }] },
      hmacKeys: ['k1', 'k2'],
      port: 3,
      nothing: null,
      enabled: true,
    };
    const masked = maskSecrets(value);
    assert.deepEqual(masked, {
      listen: { host: '127.0.0.1', port: 8080 },
      database: { url: 'postgres://db/app', password: '***', dsn: '***' },
      auth: { clientSecret: '***', apiKey: '***', privateKey: '***', accessToken: '***', credentials: '***' },
      assertion: { keys: [{ kid: 'gw1', secret: '***' }] },
      hmacKeys: ['***', '***'],
      port: 3,
      nothing: null,
      enabled: true,
    });
    // A copy: the input is unchanged.
    assert.equal(value.database.password, 'p@ss');
  });

  it('masks the listed paths (e.g. from envRefPaths) even when the key does not look secret', () => {
    const document = {
      database: { url: { env: 'DATABASE_URL' } },
      upstreams: [{ url: { env: 'UP' } }],
      x: 1,
    };
    const resolved = { database: { url: 'postgres://u:p@db/app' }, upstreams: [{ url: 'http://u' }], x: 1 };
    const masked = maskSecrets(deepFreeze(resolved), envRefPaths(document));
    assert.deepEqual(masked, { database: { url: '***' }, upstreams: [{ url: '***' }], x: 1 });
    assert.equal(resolved.database.url, 'postgres://u:p@db/app');
  });

  it('ignores listed paths that are not in the value', () => {
    const value = { a: { b: 'keep' }, s: 'text', n: null };
    const masked = maskSecrets(value, [
      ['a', 'missing'],
      ['gone', 'deeper', 'x'],
      [],
      ['s', 'length'],
      ['n', 'x', 'y'],
    ]);
    assert.deepEqual(masked, value);
  });

  it('masks numbers under secret keys but not nested objects of non-secret keys', () => {
    assert.deepEqual(maskSecrets({ pin: { password: 1234 }, tokenTtl: { seconds: 60 } }), {
      pin: { password: '***' },
      tokenTtl: { seconds: 60 },
    });
  });
});

describe('secretString', () => {
  const s = z.object({ jwtSecret: secretString() });

  it('accepts a random 32-byte base64url secret', () => {
    const secret = randomSecret();
    assert.equal(parseConfig(s, { jwtSecret: secret }, 'x').jwtSecret, secret);
  });

  it('refuses missing, short, well-known and low-variety secrets, naming the key', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /^jwtSecret: is required \(a secret has no default\)$/],
      ['short', /^jwtSecret: secret must be at least 32 bytes$/],
      ['changeme', /^jwtSecret: secret is a well-known default$/],
      ['your-super-secret-jwt-key-change-this-in-production', /^jwtSecret: secret is a well-known default$/],
      ['ab'.repeat(20), /^jwtSecret: secret has too little variety to be random$/],
    ];
    for (const [value, expected] of cases) {
      const err = configError(() => parseConfig(s, { jwtSecret: value }, 'x'));
      assert.equal(err.issues.length, 1, String(value));
      assert.match(err.issues[0] ?? '', expected);
    }
  });
});

describe('exitOnConfigError', () => {
  const configModule = fileURLToPath(new URL('./config.ts', import.meta.url));

  function runChild(code: string): Promise<{ exitCode: number | null; stderr: string; stdout: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
        // Bare imports in `-e` code resolve from the working directory.
        cwd: fileURLToPath(new URL('.', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.on('error', reject);
      child.on('close', (exitCode) => resolve({ exitCode, stderr, stdout }));
    });
  }

  it('exits with 1 and lists every problem on stderr', async () => {
    const { exitCode, stderr, stdout } = await runChild(`
      import { z } from 'zod';
      import { parseConfig, resolveEnvRefs, ConfigError, exitOnConfigError } from ${JSON.stringify(configModule)};
      try {
        const issues = [];
        resolveEnvRefs({ a: { env: 'KIT_TEST_UNSET_VAR' } }, {}, issues);
        try {
          parseConfig(z.object({ port: z.number(), host: z.string() }), { port: 'x' }, 'svc.yaml');
        } catch (err) {
          throw new ConfigError('svc.yaml', [...issues, ...err.issues]);
        }
      } catch (err) {
        exitOnConfigError(err, 'kit-test-service');
      }
      process.stdout.write('not reached');
    `);
    assert.equal(exitCode, 1, stderr);
    assert.equal(stdout, '');
    assert.match(stderr, /^kit-test-service: refusing to start\nsvc\.yaml: 3 configuration problem\(s\)\n/);
    assert.match(stderr, /- a: environment variable KIT_TEST_UNSET_VAR is not set\n/);
    assert.match(stderr, /- port: [^\n]+\n/);
    assert.match(stderr, /- host: [^\n]+\n/);
  });

  it('exits with 1 and writes the stack of an unexpected error', async () => {
    const { exitCode, stderr } = await runChild(`
      import { exitOnConfigError } from ${JSON.stringify(configModule)};
      exitOnConfigError(new Error('disk on fire'), 'kit-test-service');
    `);
    assert.equal(exitCode, 1);
    assert.match(stderr, /^kit-test-service: refusing to start: Error: disk on fire\n\s+at /);
  });

  it('exits with 1 for a thrown non-error', async () => {
    const { exitCode, stderr } = await runChild(`
      import { exitOnConfigError } from ${JSON.stringify(configModule)};
      exitOnConfigError('just a string', 'kit-test-service');
    `);
    assert.equal(exitCode, 1);
    assert.equal(stderr, 'kit-test-service: refusing to start: just a string\n');
  });
});
