import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Child } from '../lib/child.ts';
import { spawnChild } from '../lib/child.ts';
import { onServerCore } from '../lib/pin.ts';
import { freePort } from '../lib/ports.ts';
import { childServer, logPath, type Server, type ServerContext } from './server.ts';

/** Debian's redis-server (`apt-get install -y redis-server`), or undefined when absent. */
export function findRedis(): string | undefined {
  return ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server'].find((p) =>
    existsSync(p),
  );
}

/**
 * A throwaway Redis for the full-pipeline gateway and the identity service:
 * loopback only, nothing written to disk, on the server core (it shares that
 * core with the gateway and the upstream, as on a one-box deployment).
 */
export async function startRedis(ctx: ServerContext, binary: string): Promise<Server> {
  const port = await freePort();
  const [command, args] = onServerCore(ctx.pinning, binary, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    ctx.dir,
  ]);
  const child = spawnChild({ name: 'redis', command, args, logFile: logPath(ctx, 'redis') });
  await waitForPing(port, child);
  return childServer('redis', `redis://127.0.0.1:${port}`, child);
}

/** Sends PING until Redis answers +PONG. */
async function waitForPing(port: number, child: Child, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running()) throw new Error(`redis exited (${await child.exited}):\n${child.tail()}`);
    if (await ping(port)) return;
    await sleep(100);
  }
  throw new Error(`redis on port ${port} did not answer PING within ${timeoutMs} ms:\n${child.tail()}`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
