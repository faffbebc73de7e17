import { fileURLToPath } from 'node:url';
import { spawnChild, waitForHttp } from '../lib/child.ts';
import { onServerCore } from '../lib/pin.ts';
import { freePort } from '../lib/ports.ts';
import { childServer, logPath, type Server, type ServerContext } from './server.ts';

const SCRIPT = fileURLToPath(new URL('../upstream.ts', import.meta.url));

/** The Node upstream (bench/upstream.ts) in its own process on the server core. */
export async function startUpstream(ctx: ServerContext): Promise<Server> {
  const port = await freePort();
  const [command, args] = onServerCore(ctx.pinning, process.execPath, [SCRIPT, '--port', String(port)]);
  const child = spawnChild({ name: 'upstream', command, args, logFile: logPath(ctx, 'upstream') });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/ready`, child);
  return childServer('upstream', url, child);
}
