import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

/**
 * A stand-in for an OpenTelemetry collector: accepts OTLP/HTTP exports, reads
 * them to the end, counts the bytes, answers 200. Run as its own process
 * (`node otlp-sink.ts --port N`), off the server core like a remote collector.
 */
if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ exports, bytes }));
      return;
    }
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  server.listen(Number(values.port), '127.0.0.1', () => console.log(`otlp sink on ${values.port}`));
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
