import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

/**
 * fast-gateway (npm) proxying every path to the upstream, with no
 * authentication at all: the peer Gatehouse must match while verifying a JWT
 * on every request. Run as its own process so it can be pinned.
 */
type Gateway = (opts: {
  routes: { prefix: string; prefixRewrite?: string; target: string }[];
  enableServicesEndpoint?: boolean;
}) => { start(port: number, host?: string): Promise<unknown>; close(): Promise<unknown> };

const require = createRequire(import.meta.url);
const gateway = require('fast-gateway') as Gateway;

const { values } = parseArgs({ options: { port: { type: 'string' }, target: { type: 'string' } } });
if (values.port === undefined || values.target === undefined) {
  process.stderr.write('usage: node peers/fast-gateway.ts --port N --target http://127.0.0.1:M\n');
  process.exit(2);
}

// fast-gateway matches `prefix + '/*'` and strips the prefix; `/bench` → `/bench` keeps the path as sent.
const server = gateway({
  routes: [{ prefix: '/bench', prefixRewrite: '/bench', target: values.target }],
  enableServicesEndpoint: false,
});
await server.start(Number(values.port), '127.0.0.1');
process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${values.port}` })}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
