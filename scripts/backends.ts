import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Throwaway Redis and Postgres servers for the test run, on free loopback
 * ports in temp directories, when the machine has them installed (CI installs
 * them). What is missing is said loudly, and suites that need it say SKIPPED.
 */

export interface Backend {
  readonly name: string;
  readonly env: Record<string, string>;
  stop(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const path = join(dir, command);
    if (dir !== '' && existsSync(path)) return path;
  }
  return undefined;
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export async function startRedis(): Promise<Backend | string> {
  const binary =
    which('redis-server') ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : undefined);
  if (binary === undefined) return 'redis-server is not installed (apt-get install -y redis-server)';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const ok = await waitFor(() => {
    try {
      execFileSync(which('redis-cli') ?? '/usr/bin/redis-cli', ['-p', String(port), 'ping'], {
        stdio: 'pipe',
      });
      return true;
    } catch {
      return false;
    }
  }, 10_000);
  if (!ok) {
    child.kill('SIGKILL');
    return `redis-server did not start on port ${port}`;
  }
  return {
    name: `Redis (redis-server on 127.0.0.1:${port})`,
    env: { GATEHOUSE_TEST_REDIS_URL: `redis://127.0.0.1:${port}` },
    stop() {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (existsSync(join(bin, 'initdb'))) return bin;
  }
  return undefined;
}

export async function startPostgres(): Promise<Backend | string> {
  const bin = postgresBin();
  if (bin === undefined) return 'PostgreSQL server is not installed (apt-get install -y postgresql)';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  // Postgres refuses to run as root; as root, run it as the `postgres` user the package creates.
  const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const run = (args: string[]) => {
    const [command, ...rest] = [...asUser, ...args] as [string, ...string[]];
    execFileSync(command, rest, { stdio: 'pipe' });
  };
  try {
    run([join(bin, 'initdb'), '-D', data, '-U', 'gatehouse', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    run([
      join(bin, 'pg_ctl'),
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
      'start',
    ]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return `PostgreSQL did not start: ${(err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message}`;
  }
  return {
    name: `PostgreSQL (${bin.split('/').at(-2)} on 127.0.0.1:${port})`,
    env: { GATEHOUSE_TEST_POSTGRES_URL: `postgres://gatehouse@127.0.0.1:${port}/postgres` },
    stop() {
      try {
        run([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop']);
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
