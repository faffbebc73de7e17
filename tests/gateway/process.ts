import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { randomSecret, startHttpServer } from '@gatehouse/kit/testing';
import { SignJWT } from 'jose';

/**
 * The real gateway as a child process (`main.ts serve`) with a config of one
 * upstream `up` behind the route `/api` (a token needed), and tokens it
 * accepts. Shared by the integration suites that need a running gateway.
 */

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'packages/gateway/src/main.ts');
const jwtSecret = randomSecret();
const assertionSecret = randomSecret();

export interface Gw {
  url: string;
  adminUrl: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** Starts the gateway (killed after the test); `extra` is appended to its YAML config, `routes` replaces the one route. */
export async function startGateway(
  name: string,
  upstreamUrl: string,
  extra = '',
  routes = '[ { prefix: /api, upstream: up } ]',
): Promise<Gw> {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-${name}-`));
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `
listen: { port: 0 }
admin: { port: 0 }
auth: { issuer: https://auth.test, audience: gatehouse, hs256Secret: { env: JWT_SECRET } }
assertion: { keys: [ { kid: gw1, secret: { env: GATEWAY_ASSERTION_SECRET } } ] }
accessLog: false
upstreams: { up: { url: ${upstreamUrl} } }
routes: ${routes}
${extra}
`,
  );
  const child = spawn(process.execPath, [main, 'serve', '--config', config], {
    env: { PATH: process.env.PATH ?? '', JWT_SECRET: jwtSecret, GATEWAY_ASSERTION_SECRET: assertionSecret },
    stdio: 'pipe',
  });
  after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout?.on('data', (c) => {
    out += c;
  });
  child.stderr?.on('data', (c) => {
    out += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const end = Date.now() + 15_000;
  for (;;) {
    const match = /"url":"(http:\/\/[^"]+)","adminUrl":"(http:\/\/[^"]+)"/.exec(out);
    if (match !== null)
      return { url: match[1] as string, adminUrl: match[2] as string, child, exited, output: () => out };
    if (Date.now() > end) assert.fail(`gateway did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The assertion secret of the gateways started here, for services behind them. */
export const GATEWAY_ASSERTION_SECRET = assertionSecret;

/** An access token the gateways started by startGateway accept. */
export function token(
  sub: string,
  claims: { tid: string; roles: string[] } = { tid: 'tenant-1', roles: ['member'] },
): Promise<string> {
  return new SignJWT({ tid: claims.tid, roles: claims.roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setIssuer('https://auth.test')
    .setAudience('gatehouse')
    .setSubject(sub)
    .setJti(randomSecret(12))
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(jwtSecret));
}

/** An upstream answering `ok` after 5 ms (closed after the test). */
export async function upstream() {
  const server = await startHttpServer((_req, res) => {
    setTimeout(() => res.end('ok'), 5);
  });
  after(() => server.close());
  return server;
}
