import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild, waitForHttp } from '../lib/child.ts';
import { onServerCore } from '../lib/pin.ts';
import { freePort } from '../lib/ports.ts';
import { projectNode, REPO } from './gateway.ts';
import { childServer, logPath, type Server, type ServerContext } from './server.ts';

/**
 * The real chat service (`packages/chat/src/main.ts`) as it runs in
 * production (NODE_ENV=production): Postgres when `databaseUrl` is given
 * (instances then share their data), else PGlite in a scratch directory (one
 * instance only: PGlite cannot be shared by two processes); Redis for the
 * fan-out between instances, the send counters and the entitlement records.
 * Its environment holds only what it is given: nothing leaks in from the
 * shell (a stray DATABASE_URL would point it elsewhere).
 */
export const CHAT_MAIN = join(REPO, 'packages/chat/src/main.ts');

export interface ChatStart {
  readonly name: string;
  readonly redisUrl: string;
  readonly databaseUrl: string | undefined;
  readonly assertionSecret: string;
  readonly logLevel: string;
}

export async function startChat(ctx: ServerContext, o: ChatStart): Promise<Server> {
  const port = await freePort();
  const dataDir = join(ctx.dir, `${o.name}-data`);
  mkdirSync(dataDir, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    LOG_LEVEL: o.logLevel,
    CHAT_HOST: '127.0.0.1',
    CHAT_PORT: String(port),
    CHAT_DATA_DIR: dataDir,
    CHAT_PUBLIC_URL: 'http://127.0.0.1',
    REDIS_URL: o.redisUrl,
    GATEWAY_ASSERTION_SECRET: o.assertionSecret,
    ...(o.databaseUrl === undefined ? {} : { DATABASE_URL: o.databaseUrl }),
  };
  const [command, args] = onServerCore(ctx.pinning, projectNode(), [CHAT_MAIN]);
  const child = spawnChild({ name: o.name, command, args, env, cwd: REPO, logFile: logPath(ctx, o.name) });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/ready`, child, 60_000);
  return childServer(o.name, url, child);
}
