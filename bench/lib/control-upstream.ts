import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import type { Server, ServerContext } from '../servers/server.ts';
import { childServer, logPath } from '../servers/server.ts';
import { BODY } from '../upstream.ts';
import { spawnChild, waitForHttp } from './child.ts';
import { onServerCore } from './pin.ts';
import { freePort } from './ports.ts';

/**
 * The bench upstream (the same 100-byte body as bench/upstream.ts) with a
 * knob, for the load scenarios: an optional service time per request, and a
 * mode set at run time on a second, control listener:
 *
 *   ok    answer 200 (after `delay` ms)
 *   fail  answer 500 at once
 *   hang  never answer (the gateway's timeout decides)
 *   down  stop listening and drop every connection (connection refused); `ok` listens again
 *
 *   node lib/control-upstream.ts --port N --control-port M [--delay MS]
 *   PUT http://127.0.0.1:M/mode/<mode>   PUT http://127.0.0.1:M/delay/<ms>   GET http://127.0.0.1:M/
 */
export const MODES = ['ok', 'fail', 'hang', 'down'] as const;
export type UpstreamMode = (typeof MODES)[number];

const OK_HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) };
const FAILED = Buffer.from('{"error":"bench upstream set to fail"}');

function serve(port: number, controlPort: number, initialDelayMs: number): void {
  let mode: UpstreamMode = 'ok';
  let delayMs = initialDelayMs;
  let served = 0;
  const hanging = new Set<ServerResponse>();
  const answer = (res: ServerResponse) => {
    served++;
    res.writeHead(200, OK_HEADERS);
    res.end(BODY);
  };
  const data = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (mode === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': String(FAILED.length) });
      res.end(FAILED);
    } else if (mode === 'hang') {
      hanging.add(res);
      res.once('close', () => hanging.delete(res));
    } else if (delayMs > 0) {
      setTimeout(() => answer(res), delayMs);
    } else {
      answer(res);
    }
  });
  data.keepAliveTimeout = 120_000;
  data.headersTimeout = 130_000;
  const listen = () => data.listen(port, '127.0.0.1');

  const setMode = (next: UpstreamMode) => {
    if (mode === 'hang' && next !== 'hang') {
      for (const res of hanging) res.destroy();
      hanging.clear();
    }
    if (next === 'down' && mode !== 'down') {
      data.close();
      data.closeAllConnections();
    }
    if (mode === 'down' && next !== 'down') listen();
    mode = next;
  };

  const control = createServer((req, res) => {
    req.resume();
    const [, what, value] = (req.url ?? '/').split('/');
    if (req.method === 'PUT' && what === 'mode' && (MODES as readonly string[]).includes(value ?? '')) {
      setMode(value as UpstreamMode);
    } else if (req.method === 'PUT' && what === 'delay' && Number.isFinite(Number(value))) {
      delayMs = Number(value);
    } else if (req.method !== 'GET') {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ mode, delayMs, served }));
  });
  listen();
  control.listen(controlPort, '127.0.0.1');
  const stop = () => {
    for (const res of hanging) res.destroy();
    data.close();
    data.closeAllConnections();
    control.close(() => process.exit(0));
    control.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

export interface ControlledUpstream extends Server {
  readonly controlUrl: string;
  setMode(mode: UpstreamMode): Promise<void>;
  setDelay(ms: number): Promise<void>;
}

const SCRIPT = new URL(import.meta.url).pathname;

/** A controllable upstream in its own process on the server core, answering 200 when started. */
export async function startControlledUpstream(
  ctx: ServerContext,
  name: string,
  delayMs = 0,
): Promise<ControlledUpstream> {
  const [port, controlPort] = [await freePort(), await freePort()];
  const [command, args] = onServerCore(ctx.pinning, process.execPath, [
    SCRIPT,
    '--port',
    String(port),
    '--control-port',
    String(controlPort),
    '--delay',
    String(delayMs),
  ]);
  const child = spawnChild({ name, command, args, logFile: logPath(ctx, name) });
  const url = `http://127.0.0.1:${port}`;
  const controlUrl = `http://127.0.0.1:${controlPort}`;
  await waitForHttp(`${controlUrl}/`, child);
  await waitForHttp(`${url}/ready`, child);
  const put = async (path: string) => {
    const res = await fetch(`${controlUrl}${path}`, { method: 'PUT', signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${name}: PUT ${path} answered ${res.status}`);
  };
  return {
    ...childServer(name, url, child),
    controlUrl,
    setMode: (mode) => put(`/mode/${mode}`),
    setDelay: (ms) => put(`/delay/${ms}`),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'control-port': { type: 'string', default: '0' },
      delay: { type: 'string', default: '0' },
    },
  });
  serve(Number(values.port), Number(values['control-port']), Number(values.delay));
}
