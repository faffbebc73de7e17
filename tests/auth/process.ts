import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { createAssertionSigner, createServiceCallSigner } from '@gatehouse/kit/service';
import { decodeJwt } from 'jose';
import pg from 'pg';

export const ROOT = join(import.meta.dirname, '..', '..');
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');
export const MAIN = join(ROOT, 'packages', 'auth', 'src', 'main.ts');
export const CLI = join(ROOT, 'packages', 'auth', 'src', 'cli.ts');

export interface Backend {
  readonly name: string;
  /** Why this backend does not run here; printed loudly as the skip reason. */
  readonly skip: string | false;
  env(): Promise<Record<string, string>>;
  cleanup(): Promise<void>;
}

export function pgliteBackend(): Backend {
  return { name: 'PGlite (files)', skip: false, env: async () => ({}), cleanup: async () => {} };
}

/** A fresh database per run on the server the test script started, dropped afterwards. */
export function postgresBackend(): Backend {
  const url = process.env.GATEHOUSE_TEST_POSTGRES_URL;
  const database = `gh_auth_it_${randomBytes(5).toString('hex')}`;
  return {
    name: 'Postgres',
    skip:
      url === undefined ? 'SKIPPED (Postgres not installed): GATEHOUSE_TEST_POSTGRES_URL is not set' : false,
    async env() {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      // The name is generated above from hex digits only: safe as an identifier.
      await admin.query(`create database ${database}`);
      await admin.end();
      const target = new URL(url as string);
      target.pathname = `/${database}`;
      return { DATABASE_URL: target.toString() };
    },
    async cleanup() {
      if (url === undefined) return;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.end();
    },
  };
}

export interface LogLine {
  [key: string]: unknown;
}

export interface RunningAuth {
  readonly url: string;
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  readonly env: Record<string, string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Calls as the gateway would: with a signed assertion for the access token. */
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  internal(path: string): Promise<Response>;
  /** The token in the last mail to `to` (from the outbox log line; logs are flushed at least every 500 ms). */
  mailedToken(to: string, subject: RegExp): Promise<string>;
}

export function baseEnv(dataDir = mkdtempSync(join(tmpdir(), 'gh-auth-it-'))): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    GATEWAY_ASSERTION_SECRET: randomBytes(32).toString('base64url'),
    AUTH_DATA_DIR: dataDir,
    AUTH_PORT: '0',
    AUTH_ARGON2_MEMORY_KIB: '4096',
    AUTH_ARGON2_TIME_COST: '1',
    AUTH_CLIENT_MAX_FAILURES: '10000',
    LOG_LEVEL: 'info',
  };
}

/** Starts the real main.ts and waits until /ready answers 200. */
export async function startAuthProcess(env: Record<string, string>): Promise<RunningAuth> {
  const child = spawn(NODE, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: on a shared, loaded machine PGlite's first start alone can take many seconds.
    // The child is killed on timeout: left running, it would keep the test file alive forever.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`auth did not start in 180 s\n${stderr}`));
    }, 180_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`auth exited with ${code} before listening\n${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      lines.push(line);
      if (line.msg === 'auth: listening') {
        clearTimeout(timer);
        resolve(String(line.url));
      }
    });
  });
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${url}/ready`).catch(() => undefined);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const keys = [{ kid: 'gw1', secret: env.GATEWAY_ASSERTION_SECRET as string }];
  const sign = createAssertionSigner(keys);
  const service = createServiceCallSigner(keys, 'gateway');
  let n = 0;
  return {
    url,
    child,
    lines,
    env,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
    call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (options.token !== undefined) {
        const c = decodeJwt(options.token) as { sub: string; tid: string; roles: string[]; jti: string };
        const requestId = `it-${++n}-${Date.now()}`;
        headers['x-request-id'] = requestId;
        headers['x-gateway-assertion'] = sign(
          { sub: c.sub, tid: c.tid, roles: c.roles, jti: c.jti },
          { method, path: path.split('?')[0] as string, requestId },
        );
      }
      return fetch(`${url}${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    },
    internal(path) {
      return fetch(`${url}${path}`, { headers: { ...service('GET', path) } });
    },
    async mailedToken(to, subject) {
      const until = Date.now() + 3_000;
      for (;;) {
        const line = [...lines].reverse().find((l) => l.to === to && subject.test(String(l.subject)));
        const match = /token: (\S+)/.exec(String(line?.mailBody ?? ''));
        if (match !== null) return match[1] as string;
        if (Date.now() > until) throw new Error(`no mail to ${to}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

export interface RunningGateway {
  readonly url: string;
  /** The admin listener (/metrics, /health). */
  readonly adminUrl: string;
  readonly child: ChildProcess;
  /** The gateway's log lines so far (JSON lines; flushed at least every 500 ms). */
  lines(): LogLine[];
  stop(): Promise<void>;
}

const gateways: ChildProcess[] = [];
process.once('exit', () => {
  for (const child of gateways) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * The real gateway in front of `authUrl`, configured by the shipped
 * config/gateway.yaml with only the listen ports and the auth address changed.
 * `extraEnv` adds variables (OTLP, Sentry …); `rewriteConfig` changes the
 * YAML further (other services' addresses, limits).
 */
export async function startGatewayProcess(
  authUrl: string,
  env: Record<string, string>,
  extraEnv: Record<string, string> = {},
  rewriteConfig: (yaml: string) => string = (yaml) => yaml,
): Promise<RunningGateway> {
  const config = rewriteConfig(
    readFileSync(join(ROOT, 'config', 'gateway.yaml'), 'utf8')
      .replace(/listen: \{[^}]*\}/, 'listen: { host: 127.0.0.1, port: 0 }')
      .replace(/admin: \{[^}]*\}/, 'admin: { host: 127.0.0.1, port: 0 }')
      .replaceAll('http://127.0.0.1:4001', authUrl),
  );
  const file = join(mkdtempSync(join(tmpdir(), 'gh-auth-gw-')), 'gateway.yaml');
  writeFileSync(file, config);
  // Output to a file the test polls (no pipe to keep drained).
  const logFile = join(dirname(file), 'gateway.log');
  const out = openSync(logFile, 'w');
  const child: ChildProcess = spawn(
    NODE,
    [join(ROOT, 'packages/gateway/src/main.ts'), 'serve', '--config', file],
    {
      env: {
        PATH: env.PATH ?? '',
        GATEWAY_ASSERTION_SECRET: env.GATEWAY_ASSERTION_SECRET ?? '',
        LOG_LEVEL: 'info',
        ...extraEnv,
      },
      stdio: ['ignore', out, out],
    },
  );
  closeSync(out);
  gateways.push(child);
  const lines = (): LogLine[] =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .flatMap((text) => {
        try {
          return [JSON.parse(text) as LogLine];
        } catch {
          return [];
        }
      });
  let listening: LogLine | undefined;
  for (let i = 0; i < 200 && listening === undefined; i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
    listening = lines().find((line) => line.msg === 'listening');
  }
  if (listening === undefined) throw new Error(`gateway did not start:\n${readFileSync(logFile, 'utf8')}`);
  return {
    url: String(listening.url),
    adminUrl: String(listening.adminUrl),
    child,
    lines,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
