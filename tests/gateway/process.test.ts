import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { randomSecret, startHttpServer } from '@gatehouse/kit/testing';

/**
 * The real gateway process: `main.ts serve` and the `gatehouse-gateway` CLI,
 * started as child processes, talking HTTP, stopped by signals.
 */

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'packages/gateway/src/main.ts');
const cli = join(root, 'packages/gateway/src/cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-gw-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>, untilExit = true) {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'pipe',
  });
  const result: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (c) => {
    result.stdout += c;
  });
  child.stderr.on('data', (c) => {
    result.stderr += c;
  });
  const exited = new Promise<Run>((resolve) =>
    child.on('exit', (code) => {
      result.code = code;
      resolve(result);
    }),
  );
  if (!untilExit) after(() => child.kill('SIGKILL'));
  return { child, result, exited };
}

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const secrets = { JWT_SECRET: randomSecret(), GATEWAY_ASSERTION_SECRET: randomSecret() };

function validConfig(upstreamUrl: string): string {
  return `
listen: { port: 0 }
admin: { port: 0 }
auth: { issuer: https://auth.test, audience: gatehouse, hs256Secret: { env: JWT_SECRET } }
assertion: { keys: [ { kid: gw1, secret: { env: GATEWAY_ASSERTION_SECRET } } ] }
upstreams: { up: { url: ${upstreamUrl} } }
routes:
  - prefix: /api
    upstream: up
    public: [GET /slow]
`;
}

async function waitForLine(result: Run, pattern: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const match = result.stdout.match(pattern);
    if (match !== null) return match;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no line matching ${pattern} in:\n${result.stdout}\n${result.stderr}`);
}

describe('gateway process', () => {
  it('refuses to start with every config problem listed, exit code 1', async () => {
    const path = configFile(
      'bad.yaml',
      `
listen: { port: -1 }
auth: { issuer: i, audience: a, hs256Secret: { env: JWT_SECRET } }
assertion: { keys: [ { kid: gw1, secret: { env: GATEWAY_ASSERTION_SECRET } } ] }
upstreams: { up: { url: not-a-url } }
routes: [ { prefix: /api, upstream: missing } ]
`,
    );
    const { exited } = run([main, 'serve', '--config', path], { JWT_SECRET: 'weak' });
    const result = await exited;
    assert.equal(result.code, 1);
    for (const expected of [
      'refusing to start',
      'GATEWAY_ASSERTION_SECRET is not set',
      'JWT_SECRET (auth.hs256Secret: secret must be at least 32 bytes)',
      'listen.port',
      'upstreams.up.url',
      'routes[0].upstream: unknown upstream "missing"',
    ]) {
      assert.ok(result.stderr.includes(expected), `missing "${expected}" in:\n${result.stderr}`);
    }
  });

  it('refuses a well-known secret in production, naming the variable', async () => {
    const path = configFile('prod.yaml', validConfig('http://127.0.0.1:1'));
    const { exited } = run([main, '--config', path], {
      NODE_ENV: 'production',
      JWT_SECRET: 'your-256-bit-secret',
      GATEWAY_ASSERTION_SECRET: secrets.GATEWAY_ASSERTION_SECRET,
    });
    const result = await exited;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /JWT_SECRET \(auth\.hs256Secret: secret is a well-known default\)/);
  });

  it('refuses an unknown command or a missing config', async () => {
    assert.equal((await run([main, 'launch'], {}).exited).code, 2);
    const missing = await run([main], {}).exited;
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no config file/);
    const unreadable = await run([main, '--config', join(dir, 'nope.yaml')], {}).exited;
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.stderr, /cannot read the file/);
  });

  it('serves, logs its effective config without secrets, and drains in-flight requests on SIGTERM', async () => {
    let release: (() => void) | undefined;
    const upstream = await startHttpServer((req, res) => {
      if (req.url === '/api/slow') {
        release = () => res.end('slow done');
        return;
      }
      res.end('ok');
    });
    after(() => upstream.close());
    const path = configFile('good.yaml', validConfig(upstream.url));
    const { child, result, exited } = run(
      [main, 'serve', '--config', path],
      { ...secrets, LOG_LEVEL: 'info' },
      false,
    );
    const [, url] = await waitForLine(result, /"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    const slow = fetch(`${url}/api/slow`).then(async (r) => ({ status: r.status, body: await r.text() }));
    while (release === undefined) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    await waitForLine(result, /shutdown: started/);
    release();
    assert.deepEqual(await slow, { status: 200, body: 'slow done' });
    const done = await exited;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /shutdown: done/);
    assert.match(done.stdout, /effective configuration/);
    assert.ok(!done.stdout.includes(secrets.JWT_SECRET), 'the JWT secret is masked in the logs');
    assert.ok(!done.stdout.includes(secrets.GATEWAY_ASSERTION_SECRET), 'the assertion secret is masked');
  });
});

describe('gatehouse-gateway check', () => {
  it('lists all 19 upstreams of the TicketToken example and every route policy', async () => {
    const result = await run([cli, 'check', '--config', join(root, 'examples/tickettoken/gateway.yaml')], {})
      .exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid — 19 upstreams, 22 routes/);
    for (const name of [
      'auth',
      'venue',
      'event',
      'ticket',
      'payment',
      'order',
      'marketplace',
      'transfer',
      'minting',
      'blockchain',
      'scanning',
      'notification',
      'analytics',
      'compliance',
      'integration',
      'queue',
      'search',
      'file',
      'monitoring',
    ]) {
      assert.match(
        result.stdout,
        new RegExp(`\\n/api/v1/\\S+\\s+${name} \\(http://${name}\\.tickettoken\\.svc:\\d+\\)`),
        name,
      );
    }
    assert.match(result.stdout, /DELETE \* → admin/);
    assert.match(result.stdout, /all paths need a token/);
    assert.match(
      result.stdout,
      /not set here \(must be set where it runs\): GATEWAY_ASSERTION_SECRET, REDIS_URL/,
    );
  });

  it('fails with the problems of a broken file, and prints usage for bad arguments', async () => {
    const path = configFile('broken.yaml', 'routes: []\n');
    const result = await run([cli, 'check', '--config', path], {}).exited;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /routes: Too small/);
    const usage = await run([cli, 'frobnicate'], {}).exited;
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /gatehouse-gateway <command>/);
  });
});
