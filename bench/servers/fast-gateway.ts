import { fileURLToPath } from 'node:url';
import { spawnChild, waitForHttp } from '../lib/child.ts';
import { onServerCore } from '../lib/pin.ts';
import { freePort } from '../lib/ports.ts';
import { childServer, logPath, type Server, type ServerContext } from './server.ts';

const SCRIPT = fileURLToPath(new URL('../peers/fast-gateway.ts', import.meta.url));

/** fast-gateway (npm) with no authentication, in its own process on the server core. */
export async function startFastGateway(ctx: ServerContext, upstreamUrl: string): Promise<Server> {
  const port = await freePort();
  const [command, args] = onServerCore(ctx.pinning, process.execPath, [
    SCRIPT,
    '--port',
    String(port),
    '--target',
    upstreamUrl,
  ]);
  const child = spawnChild({ name: 'fast-gateway', command, args, logFile: logPath(ctx, 'fast-gateway') });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/bench/ready`, child);
  return childServer('fast-gateway', url, child);
}
