import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

/**
 * The upstream every contender proxies to: plain node:http answering a
 * 100-byte JSON body on any path and method. Run as its own process
 * (`node upstream.ts --port N`) so it can be pinned to the server core.
 */
export const BODY = padJson(100);

function padJson(bytes: number): Buffer {
  const base = { ok: true, service: 'bench-upstream', pad: '' };
  const empty = Buffer.byteLength(JSON.stringify(base));
  const body = Buffer.from(JSON.stringify({ ...base, pad: 'x'.repeat(bytes - empty) }));
  if (body.length !== bytes) throw new Error(`upstream body is ${body.length} bytes, expected ${bytes}`);
  return body;
}

const HEADERS = { 'content-type': 'application/json', 'content-length': String(BODY.length) };

export function createUpstream() {
  const server = createServer((req, res) => {
    // Drain any request body before answering so keep-alive sockets stay usable.
    req.resume();
    res.writeHead(200, HEADERS);
    res.end(BODY);
  });
  // Proxies keep pooled connections open across rounds; do not close them under them.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  return server;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '0' }, host: { type: 'string' } },
  });
  const host = values.host ?? '127.0.0.1';
  const server = createUpstream();
  server.listen(Number(values.port), host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : values.port;
    process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://${host}:${port}` })}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
