import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnChild, waitForHttp } from '../lib/child.ts';
import { onServerCore } from '../lib/pin.ts';
import { freePort } from '../lib/ports.ts';
import { AUDIENCE, ISSUER, type TokenSigner } from '../lib/tokens.ts';
import { childServer, logPath, type Server, type ServerContext } from './server.ts';

/**
 * The Gatehouse gateway as it runs in production: `main.ts serve --config`
 * under the project's Node 24, one process, JWT verification on every request
 * (every path is a protected route), access log on, LOG_LEVEL from the bench
 * (BENCH_LOG_LEVEL, info by default), stdout to a log file in the run's scratch directory.
 */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const GATEWAY_MAIN = join(REPO, 'packages/gateway/src/main.ts');

/** The project's Node 24 (root devDependency `node`), else the one running the bench. */
export function projectNode(): string {
  const candidate = join(REPO, 'node_modules/.bin/node');
  return existsSync(candidate) ? candidate : process.execPath;
}

/** Why the gateway cannot be benchmarked on this checkout, or undefined when it can. */
export function gatewayMissing(): string | undefined {
  return existsSync(GATEWAY_MAIN) ? undefined : `${GATEWAY_MAIN} does not exist yet`;
}

export function gatewayConfig(port: number, adminPort: number, upstreamUrl: string, signer: TokenSigner) {
  return {
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    auth: { issuer: ISSUER, audience: AUDIENCE, ...signer.authKeys },
    assertion: { keys: [{ kid: 'gw1', secret: { env: 'GATEWAY_ASSERTION_SECRET' } }] },
    upstreams: { bench: { url: upstreamUrl, timeout: 'fast' } },
    routes: [{ prefix: '/', upstream: 'bench' }],
    // The limiter runs on every request (in memory), with limits the bench never reaches:
    // it measures what limiting costs, not refusals.
    rateLimits: {
      tiers: {
        anonymous: { limit: 1_000_000_000, windowSeconds: 60 },
        free: { limit: 1_000_000_000, windowSeconds: 60 },
        standard: { limit: 1_000_000_000, windowSeconds: 60 },
        premium: { limit: 1_000_000_000, windowSeconds: 60 },
      },
    },
  };
}

export interface GatewayStart {
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
  readonly name?: string;
  /** LOG_LEVEL (default: $LOG_LEVEL, else warn). The access log is on (config default) either way. */
  readonly logLevel?: string;
  /** Another config than the foundation one (the full pipeline), for these ports. */
  readonly config?: (port: number, adminPort: number) => Record<string, unknown>;
  /** The assertion secret, when another process (the identity service) must share it. */
  readonly assertionSecret?: string;
  /** Extra environment (OTLP export …). */
  readonly env?: Record<string, string>;
}

export async function startGateway(
  ctx: ServerContext,
  upstreamUrl: string,
  signer: TokenSigner,
  opts: GatewayStart = {},
): Promise<Server> {
  const name = opts.name ?? 'gateway';
  const [port, adminPort] = [await freePort(), await freePort()];
  const configFile = join(ctx.dir, `${name}.yaml`);
  // JSON is YAML: no serializer needed.
  writeFileSync(
    configFile,
    `${JSON.stringify(opts.config?.(port, adminPort) ?? gatewayConfig(port, adminPort, upstreamUrl, signer), null, 2)}\n`,
  );
  const [command, args] = onServerCore(ctx.pinning, projectNode(), [
    ...(opts.nodeFlags ?? []),
    // BENCH_GATEWAY_NODE_FLAGS: extra V8/node flags for every gateway process (experiments: GC, heap).
    ...(process.env.BENCH_GATEWAY_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    GATEWAY_MAIN,
    'serve',
    '--config',
    configFile,
  ]);
  const env = {
    ...process.env,
    ...signer.env,
    NODE_ENV: 'production',
    LOG_LEVEL: opts.logLevel ?? process.env.LOG_LEVEL ?? 'warn',
    // One process on the server core; the multi-worker scaling test is a scenario of its own.
    GATEWAY_WORKERS: process.env.GATEWAY_WORKERS ?? '1',
    GATEWAY_ASSERTION_SECRET: opts.assertionSecret ?? randomBytes(32).toString('base64url'),
    ...opts.env,
  };
  const child = spawnChild({ name, command, args, env, cwd: REPO, logFile: logPath(ctx, name) });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/ready`, child, 30_000);
  return { ...childServer(name, url, child), adminUrl: `http://127.0.0.1:${adminPort}` };
}
