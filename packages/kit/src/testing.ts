import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
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

/** A span as an OTLP/HTTP JSON export carries it (ids in hex), with its resource's service.name. */
export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes?: { key: string; value: Record<string, unknown> }[];
  readonly status?: { code?: number; message?: string };
  readonly service: string;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

/** A span attribute's value, whatever its OTLP type. */
export function spanAttribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
}

/** A collector for tests: an OTLP/HTTP JSON receiver that keeps every span it is sent. */
export async function startOtlpReceiver(): Promise<StartedServer & { spans: OtlpSpan[]; posts: string[] }> {
  const spans: OtlpSpan[] = [];
  const posts: string[] = [];
  const server = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const doc = JSON.parse(body.toString('utf8')) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: Omit<OtlpSpan, 'service'>[] }[];
        }[];
      };
      for (const rs of doc.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ ...span, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return Object.assign(server, { spans, posts });
}
