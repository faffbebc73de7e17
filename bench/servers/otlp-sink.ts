import { fileURLToPath } from 'node:url';
import { spawnChild, waitForHttp } from '../lib/child.ts';
import { freePort } from '../lib/ports.ts';
import { childServer, logPath, type Server, type ServerContext } from './server.ts';

const SCRIPT = fileURLToPath(new URL('../otlp-sink.ts', import.meta.url));

/** An OTLP/HTTP sink (bench/otlp-sink.ts) on the load generator's core: a collector elsewhere. */
export async function startOtlpSink(ctx: ServerContext): Promise<Server> {
  const port = await freePort();
  const child = spawnChild({
    name: 'otlp-sink',
    command: process.execPath,
    args: [SCRIPT, '--port', String(port)],
    logFile: logPath(ctx, 'otlp-sink'),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/ready`, child);
  return childServer('otlp-sink', url, child);
}
