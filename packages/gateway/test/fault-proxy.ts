import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A small TCP fault proxy between the gateway and an upstream: it passes bytes
 * through, or delays the answer, resets the connection, or trickles the
 * answer a few bytes at a time. The mode can be changed between requests.
 */
export type FaultMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'reset' }
  | { readonly kind: 'reset-after-head' }
  | { readonly kind: 'trickle'; readonly bytes: number; readonly everyMs: number };

export interface FaultProxy {
  readonly url: string;
  mode: FaultMode;
  connections: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    url: '',
    mode: { kind: 'pass' },
    connections: 0,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((client) => {
    proxy.connections++;
    sockets.add(client);
    const upstream = connect(Number(port), hostname);
    sockets.add(upstream);
    const cleanup = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', cleanup);
    upstream.on('error', cleanup);
    client.on('close', cleanup);
    upstream.on('close', cleanup);
    client.on('data', (chunk) => {
      if (proxy.mode.kind === 'reset') {
        client.resetAndDestroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const mode = proxy.mode;
      if (mode.kind === 'delay') {
        upstream.pause();
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
          upstream.resume();
        }, mode.ms);
      } else if (mode.kind === 'reset-after-head') {
        const text = chunk.toString('latin1');
        const head = text.indexOf('\r\n\r\n');
        client.write(chunk.subarray(0, head + 4 + 3));
        setTimeout(() => client.resetAndDestroy(), 20);
      } else if (mode.kind === 'trickle') {
        upstream.pause();
        let offset = 0;
        const timer = setInterval(() => {
          if (client.destroyed || offset >= chunk.length) {
            clearInterval(timer);
            upstream.resume();
            return;
          }
          client.write(chunk.subarray(offset, offset + mode.bytes));
          offset += mode.bytes;
        }, mode.everyMs);
      } else {
        client.write(chunk);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  (proxy as { url: string }).url =
    `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return proxy;
}
