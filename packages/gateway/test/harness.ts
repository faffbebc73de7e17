import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import {
  captureLogger,
  closeServer,
  listenOnRandomPort,
  randomSecret,
  startHttpServer,
} from '@gatehouse/kit/testing';
import type { Tracer } from '@opentelemetry/api';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { createGateway, type Gateway } from '../src/app.ts';
import { loadGatewayConfig } from '../src/config/load.ts';
import type { GatewayConfigInput } from '../src/config/schema.ts';

/**
 * A real gateway on 127.0.0.1:0 in front of a real echo upstream, with real
 * test keys. Tests talk HTTP with fetch; nothing in the pipeline is stubbed.
 */

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

export interface EchoUpstream {
  readonly url: string;
  /** Requests that reached the upstream and were read to the end. */
  readonly seen: SeenRequest[];
  /** `METHOD url` of every request the upstream began to receive (complete or not). */
  readonly arrived: string[];
  close(): Promise<void>;
}

/** An upstream that records what reached it and answers 200 with JSON (or `respond`'s answer). */
export async function startEchoUpstream(
  respond?: (req: SeenRequest, res: import('node:http').ServerResponse) => void,
): Promise<EchoUpstream> {
  const seen: SeenRequest[] = [];
  const arrived: string[] = [];
  const started = await startHttpServer((req, res) => {
    arrived.push(`${req.method} ${req.url}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      seen.push(record);
      if (respond !== undefined) {
        respond(record, res);
        return;
      }
      const body = JSON.stringify({ ok: true, url: record.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return { url: started.url, seen, arrived, close: started.close };
}

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export const ISSUER = 'https://auth.test.gatehouse';
export const AUDIENCE = 'gatehouse';

export interface TestKeys {
  readonly privateKey: PrivateKey;
  readonly publicJwk: JWK;
  readonly kid: string;
}

export async function generateTestKeys(
  alg: 'EdDSA' | 'ES256' | 'RS256' = 'EdDSA',
  kid = `k-${alg}`,
): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { privateKey, publicJwk, kid };
}

export interface TokenOptions {
  sub?: string;
  tid?: string;
  roles?: string[];
  jti?: string;
  iss?: string;
  aud?: string;
  typ?: string;
  iat?: number;
  exp?: number;
  alg?: string;
  kid?: string | null;
  extraHeader?: Record<string, unknown>;
  extraClaims?: Record<string, unknown>;
}

/** Signs an access token as the identity service would (or, with options, as an attacker would). */
export async function signToken(keys: TestKeys, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const iat = options.iat ?? now;
  const header: Record<string, unknown> = {
    alg: options.alg ?? (keys.publicJwk.alg as string),
    typ: options.typ ?? 'at+jwt',
    ...options.extraHeader,
  };
  if (options.kid !== null) header.kid = options.kid ?? keys.kid;
  return new SignJWT({
    tid: options.tid ?? 'tenant-1',
    roles: options.roles ?? ['member'],
    ...options.extraClaims,
  })
    .setProtectedHeader(header as { alg: string })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setSubject(options.sub ?? 'user-1')
    .setJti(options.jti ?? randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(options.exp ?? iat + 600)
    .sign(keys.privateKey);
}

export interface TestGateway {
  readonly url: string;
  readonly adminUrl: string;
  readonly gateway: Gateway;
  readonly upstream: EchoUpstream;
  readonly keys: TestKeys;
  readonly assertionSecret: string;
  readonly logs: ReturnType<typeof captureLogger>;
  token(options?: TokenOptions): Promise<string>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Extra or replaced config (routes default to one `/api` route on the echo upstream). */
  config?: Partial<GatewayConfigInput>;
  upstream?: EchoUpstream;
  keys?: TestKeys;
  /** The assertion key, when a test's own server must know it before the gateway starts. */
  assertionSecret?: string;
  /** Give the gateway the masked effective config, as main.ts does (shown on the admin /config). */
  withMaskedConfig?: boolean;
  /** Environment for `{ env: NAME }` references in the config. */
  env?: Record<string, string>;
  /** Kit's startTracing (callerSamplesNewTraces): the gateway makes spans with its tracer. */
  tracing?: { readonly tracer: Tracer; readonly sampleRatio: number };
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const upstream = options.upstream ?? (await startEchoUpstream());
  const keys = options.keys ?? (await generateTestKeys());
  const assertionSecret = options.assertionSecret ?? randomSecret();
  const document: GatewayConfigInput = {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    auth: { issuer: ISSUER, audience: AUDIENCE, keys: [keys.publicJwk as never] },
    assertion: { keys: [{ kid: 'gw1', secret: assertionSecret }] },
    upstreams: { echo: { url: upstream.url, timeout: 'fast' } },
    // Tests send many requests from 127.0.0.1: limits high enough not to interfere, unless a test sets its own.
    rateLimits: {
      tiers: {
        anonymous: { limit: 1_000_000, windowSeconds: 60 },
        free: { limit: 1_000_000, windowSeconds: 60 },
        standard: { limit: 1_000_000, windowSeconds: 60 },
        premium: { limit: 1_000_000, windowSeconds: 60 },
      },
    },
    routes: [
      {
        prefix: '/api',
        upstream: 'echo',
        public: ['GET /public/**', 'POST /public/upload'],
        roles: { 'DELETE *': ['admin'], '* /admin/**': ['admin', 'owner'] },
      },
    ],
    ...options.config,
  };
  const logs = captureLogger('gateway', 'debug');
  let gateway: Gateway;
  try {
    const { config, masked } = loadGatewayConfig(document, options.env ?? {}, 'test');
    gateway = createGateway(config, {
      logger: logs.logger,
      ...(options.withMaskedConfig === true ? { maskedConfig: masked } : {}),
      tracing: options.tracing,
    });
    await gateway.start();
  } catch (err) {
    // A refused config must not leave the echo upstream holding the test process open.
    if (options.upstream === undefined) await upstream.close();
    throw err;
  }
  const url = await listenOnRandomPort(gateway.server);
  const adminUrl = await listenOnRandomPort(gateway.admin);
  return {
    url,
    adminUrl,
    gateway,
    upstream,
    keys,
    assertionSecret,
    logs,
    token: (tokenOptions) => signToken(keys, tokenOptions),
    async close() {
      await closeServer(gateway.server);
      await closeServer(gateway.admin);
      await gateway.close();
      if (options.upstream === undefined) await upstream.close();
    },
  };
}

/** What came back on a raw socket: the first response, parsed, and whether the server closed the connection. */
export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ', '. */
  readonly headers: Record<string, string>;
  /** Header lines as sent, in order: [name, value] with the name's original spelling. */
  readonly headerLines: [string, string][];
  readonly body: string;
  /** Everything the server sent. */
  readonly raw: string;
  /** The server ended or reset the connection after (or instead of) its answer. */
  readonly closed: boolean;
}

export interface RawRequestOptions {
  /** Written after `data`, `delayMs` apart (a slow or streamed body). Stops early once an answer arrived. */
  readonly followUp?: readonly (string | Buffer)[];
  readonly delayMs?: number;
  /** How long to wait for the server to close after a complete answer without `connection: close` (default 0). */
  readonly waitForCloseMs?: number;
  /** Give up after this long (default 5 s). */
  readonly timeoutMs?: number;
}

/**
 * Sends raw bytes to `url`'s host and port and reads one HTTP/1.1 response: for
 * requests `fetch` would refuse or normalise (smuggling, absolute-form targets,
 * duplicate headers, odd header spellings, encoded paths).
 */
export async function rawRequest(
  url: string,
  data: string | Buffer,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  const chunks: Buffer[] = [];
  let closed = false;
  let parsed: Omit<RawResponse, 'closed' | 'raw'> | undefined;
  const deadline = options.timeoutMs ?? 5_000;

  await new Promise<void>((resolve, reject) => {
    let closeTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => finish(), deadline);
    let done = false;
    function finish(): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(closeTimer);
      socket.destroy();
      resolve();
    }
    socket.on('error', () => {
      if (!done) closed = true;
      finish();
    });
    socket.on('end', () => {
      if (!done) closed = true;
      finish();
    });
    socket.on('close', () => {
      if (!done) closed = true;
      finish();
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (parsed !== undefined) return;
      parsed = parseResponse(Buffer.concat(chunks));
      if (parsed === undefined) return;
      const wantsClose = (parsed.headers.connection ?? '').toLowerCase().includes('close');
      const wait = wantsClose ? Math.min(2_000, deadline) : (options.waitForCloseMs ?? 0);
      if (wait === 0) finish();
      else closeTimer = setTimeout(finish, wait);
    });
    socket.once('connect', async () => {
      try {
        socket.write(data);
        for (const part of options.followUp ?? []) {
          await new Promise((r) => setTimeout(r, options.delayMs ?? 20));
          if (parsed !== undefined || closed || socket.destroyed) break;
          socket.write(part);
        }
      } catch (err) {
        reject(err);
      }
    });
  });
  const raw = Buffer.concat(chunks).toString('latin1');
  // An answer whose body ends with the connection (no length, no chunks).
  parsed ??= closed ? parseResponse(Buffer.concat(chunks), true) : undefined;
  if (parsed === undefined) {
    return { status: 0, headers: {}, headerLines: [], body: '', raw, closed };
  }
  return { ...parsed, raw, closed };
}

/** Parses one complete HTTP/1.1 response from `buffer`, or undefined while it is incomplete. */
function parseResponse(buffer: Buffer, ended = false): Omit<RawResponse, 'closed' | 'raw'> | undefined {
  let text = buffer.toString('latin1');
  // Skip interim 1xx answers (100 Continue).
  while (/^HTTP\/1\.[01] 1\d\d /.test(text)) {
    const end = text.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    text = text.slice(end + 4);
  }
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number((statusLine ?? '').split(' ')[1]);
  const headers: Record<string, string> = {};
  const headerLines: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    headerLines.push([name, value]);
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  const rest = Buffer.from(text.slice(end + 4), 'latin1');
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (rest.length < length) return undefined;
    return { status, headers, headerLines, body: rest.subarray(0, length).toString('utf8') };
  }
  if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
    const body: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', offset);
      if (lineEnd === -1) return undefined;
      const size = Number.parseInt(rest.subarray(offset, lineEnd).toString('latin1'), 16);
      if (size === 0) return { status, headers, headerLines, body: Buffer.concat(body).toString('utf8') };
      if (rest.length < lineEnd + 2 + size + 2) return undefined;
      body.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
  }
  // No framing: a body-less answer (204, 304) or one that ends with the connection.
  if (status === 204 || status === 304) return { status, headers, headerLines, body: '' };
  return ended ? { status, headers, headerLines, body: rest.toString('utf8') } : undefined;
}

/** A raw GET (or other method) request with a Host header and `connection: close`. */
export function rawGet(target: string, headers: readonly string[] = [], method = 'GET'): string {
  return [`${method} ${target} HTTP/1.1`, 'Host: gateway.test', ...headers, 'Connection: close', '', ''].join(
    '\r\n',
  );
}

/** Parses a problem+json body (raw or from fetch) and checks its content type. */
export async function problemOf(res: Response): Promise<Record<string, unknown>> {
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('application/problem+json')) {
    throw new Error(`expected application/problem+json, got ${type} (${res.status}): ${await res.text()}`);
  }
  return (await res.json()) as Record<string, unknown>;
}

export interface RawUpstream {
  readonly url: string;
  /** Request heads received, as text. */
  readonly heads: string[];
  close(): Promise<void>;
}

/**
 * An upstream that answers each request head with exactly the bytes `respond`
 * returns (for response headers node:http would not let a test write, such as
 * hop-by-hop headers or odd framing). Bodies of requests are not read.
 */
export async function startRawUpstream(respond: (head: string) => string): Promise<RawUpstream> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        heads.push(head);
        socket.write(respond(head));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
