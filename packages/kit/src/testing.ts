import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
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

/** Polls `probe` until it returns a value (every 50 ms), or fails naming `what` after `ms`. */
export async function waitFor<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface IngestPost {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** The parts of a Sentry event the tests look at. */
export interface SentryEvent {
  environment?: string;
  release?: string;
  level?: string;
  tags?: Record<string, unknown>;
  request?: unknown;
  user?: unknown;
  contexts?: { trace?: { trace_id?: string } };
  exception?: { values?: { type?: string; value?: string; stacktrace?: { frames?: unknown[] } }[] };
}

/** An envelope is newline-delimited JSON: the envelope header, then item header and payload pairs. */
export function parseEnvelope(body: string) {
  const [header, ...rest] = body.split('\n').filter((l) => l !== '');
  const items: { header: Record<string, unknown>; payload: Record<string, unknown> }[] = [];
  for (let i = 0; i + 1 < rest.length; i += 2) {
    items.push({ header: JSON.parse(rest[i] as string), payload: JSON.parse(rest[i + 1] as string) });
  }
  return { header: JSON.parse(header as string) as Record<string, unknown>, items };
}

/**
 * Sentry's ingest as far as the SDK sees it: envelopes POSTed to /api/42/envelope/, kept as
 * sent; `dsn` points at it, `events()` are the event items of every envelope.
 */
export async function startSentryIngest() {
  const posts: IngestPost[] = [];
  const server = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const { port } = server.server.address() as AddressInfo;
  const events = (): SentryEvent[] =>
    posts.flatMap((p) =>
      parseEnvelope(p.body)
        .items.filter((i) => i.header.type === 'event')
        .map((i) => i.payload as SentryEvent),
    );
  return Object.assign(server, { posts, events, dsn: `http://publickey@127.0.0.1:${port}/42` });
}
