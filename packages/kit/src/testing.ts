import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from './logger.ts';

/** Test helpers: real servers on port 0, random secrets, a logger whose lines a test can read. */

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export async function listenOnRandomPort(server: Server, host = '127.0.0.1'): Promise<string> {
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return `http://${host}:${port}`;
}

export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface StartedServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1, port 0: an upstream for gateway tests. */
export async function startHttpServer(handler: RequestListener): Promise<StartedServer> {
  const server = createServer(handler);
  const url = await listenOnRandomPort(server);
  return { url, server, close: () => closeServer(server) };
}

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
  readonly text: () => string;
}

/** A real pino logger writing to memory, so a test can assert what was (and was not) logged. */
export function captureLogger(service = 'test', level: 'info' | 'debug' | 'trace' = 'debug'): CapturedLogger {
  const chunks: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      const text = String(chunk);
      chunks.push(text);
      for (const line of text.split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ service, level, destination });
  return { logger, lines, text: () => chunks.join('') };
}
