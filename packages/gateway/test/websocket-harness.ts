import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { createAssertionVerifier, isPlatformServiceIdentity } from '@gatehouse/kit';
import { startHttpServer } from '@gatehouse/kit/testing';
import WebSocket, { WebSocketServer } from 'ws';

/**
 * Real WebSocket endpoints for the gateway's tunnel tests: an echo upstream
 * (the `ws` package, as a service would run it) that records every handshake
 * it saw, a client helper, and an identity service speaking the internal
 * contracts the gateway calls (revocation feed, user lookups).
 */

export interface Handshake {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface WsUpstream {
  readonly url: string;
  /** Handshakes that reached the upstream (the test asserts none did, for a refusal). */
  readonly handshakes: Handshake[];
  /** Sockets the upstream holds open. */
  readonly open: () => number;
  close(): Promise<void>;
}

/** Echoes every message back; `onConnection` may add behaviour. The caller closes it. */
export async function startWsUpstream(
  onConnection?: (socket: WebSocket, handshake: Handshake) => void,
  options: { handshakeDelayMs?: number } = {},
): Promise<WsUpstream> {
  const handshakes: Handshake[] = [];
  const server = createServer((_req, res) => res.writeHead(426).end());
  const delay = options.handshakeDelayMs ?? 0;
  const wss = new WebSocketServer({
    server,
    ...(delay > 0 ? { verifyClient: (_info, accept) => void setTimeout(() => accept(true), delay) } : {}),
  });
  wss.on('connection', (socket, req) => {
    const handshake = { url: req.url ?? '', headers: req.headers };
    handshakes.push(handshake);
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    onConnection?.(socket, handshake);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const upstream: WsUpstream = {
    url: `http://127.0.0.1:${port}`,
    handshakes,
    open: () => wss.clients.size,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return upstream;
}

export interface Connected {
  readonly socket: WebSocket;
  /** Resolves with the close code when the connection ends (1006: cut without a close frame). */
  readonly closed: Promise<number>;
  /** The upstream's echo of `text`. */
  echo(text: string): Promise<string>;
}

/** Opens a WebSocket through `url` (http:// is turned into ws://); rejects with the refusal's status. */
export function connectWs(url: string, headers: Record<string, string> = {}): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers });
    const closed = new Promise<number>((r) => socket.once('close', (code) => r(code)));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c;
      });
      res.on('end', () =>
        reject(
          Object.assign(new Error(`refused ${res.statusCode}`), {
            status: res.statusCode,
            body,
            headers: res.headers,
          }),
        ),
      );
    });
    socket.once('error', reject);
    socket.once('open', () => {
      resolve({
        socket,
        closed,
        echo: (text) =>
          new Promise((r) => {
            socket.once('message', (data) => r(String(data)));
            socket.send(text);
          }),
      });
    });
    after(() => socket.terminate());
  });
}

/** Milliseconds until `promise` settles, failing after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const UPGRADE_HEADERS = [
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
];

/** A raw handshake request (for refusals the `ws` client would not let a test inspect byte for byte). */
export function rawUpgrade(
  target: string,
  headers: readonly string[] = [],
  upgrade = UPGRADE_HEADERS,
): string {
  return [`GET ${target} HTTP/1.1`, 'Host: gateway.test', ...upgrade, ...headers, '', ''].join('\r\n');
}

interface Member {
  readonly tenantId: string;
  readonly roles: string[];
}

/**
 * The identity service's internal contracts as the gateway calls them, signed as the platform
 * service `gateway`: the long-polled revocation feed and user lookups.
 */
export async function startIdentityService(secret: string) {
  const events: Record<string, unknown>[] = [];
  const members = new Map<string, Member>();
  const waiting = new Set<() => void>();
  const verify = createAssertionVerifier([{ kid: 'gw1', secret }]);
  const server = await startHttpServer((req, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const checked = verify(req.headers['x-gateway-assertion'], {
      method: req.method ?? '',
      path: url.pathname,
      requestId: String(req.headers['x-request-id']),
    });
    if (!checked.ok || !isPlatformServiceIdentity(checked.identity)) return void res.writeHead(401).end();
    if (url.pathname === '/internal/revocations') {
      const from = Number(url.searchParams.get('after') ?? '0');
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ events: events.slice(from), cursor: String(events.length) }));
      };
      if (events.length > from) return answer();
      const wake = () => {
        waiting.delete(wake);
        clearTimeout(timer);
        answer();
      };
      const timer = setTimeout(wake, Number(url.searchParams.get('wait') ?? '0'));
      waiting.add(wake);
      return;
    }
    const id = decodeURIComponent(url.pathname.slice('/internal/users/'.length));
    const member = members.get(id);
    const tenant = url.searchParams.get('tenant');
    if (member === undefined) return void res.writeHead(404).end();
    const isMember = member.tenantId === tenant;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        status: 'active',
        tenantId: tenant,
        member: isMember,
        roles: isMember ? member.roles : [],
      }),
    );
  });
  return {
    url: server.url,
    async close() {
      for (const wake of [...waiting]) wake();
      await server.close();
    },
    member(sub: string, tenantId: string, roles = ['member']) {
      members.set(sub, { tenantId, roles });
    },
    revoke(event: Record<string, unknown>) {
      events.push(event);
      for (const wake of [...waiting]) wake();
    },
  };
}

/** Fails unless `check` turns true within `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}
