import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

/**
 * The WebSocket benchmark's upstream: a plain `ws` echo server (what a
 * service behind the gateway would run), one process. `GET /bench/ready`
 * answers 200 for the harness; every upgrade is accepted and every message
 * echoed as it came.
 */
const port = Number(process.argv[2] ?? 0);
const server = createServer((req, res) => {
  res.writeHead(req.url === '/bench/ready' || req.url === '/ready' ? 200 : 404).end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => {});
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ws echo listening on ${port}\n`);
});
process.once('SIGTERM', () => {
  for (const client of wss.clients) client.terminate();
  server.close(() => process.exit(0));
});
