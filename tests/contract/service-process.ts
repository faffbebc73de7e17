import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { NODE, ROOT } from '../auth/process.ts';
import { freshDatabase } from '../chat/process.ts';
import type { StartedService } from './services.ts';

/**
 * A kit service's real main.ts (`runService`) on port 0, with a database of
 * its own: a fresh one on the test script's Postgres server when there is
 * one, PGlite files otherwise. It shares only the gateway assertion secret
 * with the platform; resolves once it listens and /ready answers 200.
 */
export async function startServiceProcess(
  name: 'chat' | 'billing',
  prefix: 'CHAT' | 'BILLING',
  platformEnv: Readonly<Record<string, string>>,
): Promise<StartedService> {
  const server = process.env.GATEHOUSE_TEST_POSTGRES_URL;
  const db = server === undefined ? undefined : await freshDatabase(server);
  const dataDir = mkdtempSync(join(tmpdir(), `gh-contract-${name}-`));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    GATEWAY_ASSERTION_SECRET: platformEnv.GATEWAY_ASSERTION_SECRET as string,
    [`${prefix}_PORT`]: '0',
    [`${prefix}_DATA_DIR`]: dataDir,
    ...(db === undefined ? {} : { DATABASE_URL: db.url }),
  };
  const child: ChildProcess = spawn(NODE, [join(ROOT, 'packages', name, 'src', 'main.ts')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not listen within 60 s\n${stderr}`)),
        60_000,
      );
      child.once('exit', (code) =>
        reject(new Error(`${name} exited with ${code} before listening\n${stderr}`)),
      );
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
        try {
          const line = JSON.parse(text) as Record<string, unknown>;
          if (line.msg === `${name}: listening`) {
            clearTimeout(timer);
            resolve(String(line.url));
          }
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
    return { url, stop };
  } catch (err) {
    child.kill('SIGKILL');
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
