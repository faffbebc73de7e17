import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type AssertedIdentity, createAssertionSigner } from '@gatehouse/kit/service';
import pg from 'pg';
import { freePort } from '../../scripts/backends.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');

export interface RunningService {
  readonly url: string;
  readonly lines: Record<string, unknown>[];
  stop(): Promise<void>;
  /** SIGTERM; resolves with the exit code. */
  terminate(): Promise<number | null>;
  /** SIGKILL: no shutdown of its own (an outage, a crash). */
  kill(): Promise<void>;
}

export type RunningChat = RunningService;

/** The real chat process (main.ts) on a free port; resolves once it listens and is ready. */
export function startChatProcess(env: Record<string, string>): Promise<RunningChat> {
  return startServiceMain('chat', { CHAT_PORT: '0', ...env });
}

/** The real billing process (main.ts, the local provider), on `BILLING_PORT` (0: a free one). */
export function startBillingProcess(env: Record<string, string>): Promise<RunningService> {
  return startServiceMain('billing', { BILLING_PORT: '0', ...env });
}

/** A service's main.ts; resolves once it logs `<name>: listening` and /ready answers 200. */
async function startServiceMain(
  name: 'chat' | 'billing',
  env: Record<string, string>,
): Promise<RunningService> {
  const child: ChildProcess = spawn(NODE, [join(ROOT, 'packages', name, 'src', 'main.ts')], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${name} exited with ${code} before listening\n${stderr}`)),
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      try {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        if (line.msg === `${name}: listening`) resolve(String(line.url));
      } catch {
        // not a log line
      }
    });
  });
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${url}/ready`).catch(() => undefined);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const exit = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    return exited;
  };
  return {
    url,
    lines,
    async stop() {
      await exit('SIGTERM');
    },
    terminate: () => exit('SIGTERM'),
    async kill() {
      await exit('SIGKILL');
    },
  };
}

/** Signs as the gateway would for `user` (a `member` unless it says its roles) on one request. */
export function gatewaySigner(secret: string) {
  const sign = createAssertionSigner([{ kid: 'gw1', secret }]);
  let n = 0;
  return (user: { sub: string; tid: string; roles?: string[] }, method: string, path: string) => {
    const requestId = `it-${++n}-${Date.now()}`;
    const roles = user.roles ?? ['member'];
    return {
      'x-request-id': requestId,
      'x-gateway-assertion': sign({ sub: user.sub, tid: user.tid, roles } as AssertedIdentity, {
        method,
        path: path.split('?')[0] as string,
        requestId,
      }),
    };
  };
}

/** A Redis server this test owns, on a port it keeps, so it can be stopped and started again. */
export async function ownRedis() {
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (binary === undefined) return undefined;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gh-chat-redis-'));
  let child: ChildProcess | undefined;
  const ping = () => {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  };
  async function start(): Promise<void> {
    child = spawn(
      binary as string,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 100 && !ping(); i++) await new Promise((r) => setTimeout(r, 100));
  }
  async function stop(): Promise<void> {
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database on the test script's Postgres server, dropped afterwards. */
export async function freshDatabase(serverUrl: string) {
  const name = `gh_chat_it_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: serverUrl });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
