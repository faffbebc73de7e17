import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  type Backend,
  baseEnv,
  pgliteBackend,
  postgresBackend,
  ROOT,
  type RunningAuth,
  type RunningGateway,
  startAuthProcess,
  startGatewayProcess,
} from '../auth/process.ts';
import type { ContractService, StartedService } from './services.ts';

export interface Platform {
  readonly gateway: RunningGateway;
  readonly auth: RunningAuth;
  readonly backend: string;
  stop(): Promise<void>;
}

/**
 * The real processes: the identity service, every service under contract and
 * the gateway with the shipped config/gateway.yaml (ports, service addresses
 * changed). Its rate limits are raised: the fuzzer sends hundreds of requests
 * a second from one address, and the limiter has suites of its own (429 is
 * still a declared answer, checked whenever it comes).
 */
export async function startPlatform(services: readonly ContractService[]): Promise<Platform> {
  const postgres = postgresBackend();
  const backend: Backend = postgres.skip === false ? postgres : pgliteBackend();
  const env = { ...baseEnv(), ...(await backend.env()) };
  const auth = await startAuthProcess(env);
  const started: StartedService[] = [];
  const shipped = parse(readFileSync(join(ROOT, 'config', 'gateway.yaml'), 'utf8')) as {
    upstreams: Record<string, { url: string }>;
  };
  const addresses: [string, string][] = [];
  try {
    for (const service of services) {
      const running = await service.start({ env, auth });
      started.push(running);
      const shippedUrl = shipped.upstreams[service.upstream]?.url;
      if (shippedUrl === undefined) throw new Error(`no upstream ${service.upstream} in config/gateway.yaml`);
      addresses.push([shippedUrl, running.url]);
    }
    const gateway = await startGatewayProcess(auth.url, env, {}, (yaml) => {
      let out = yaml.replace(/limit: \d+/g, 'limit: 1000000');
      for (const [from, to] of addresses) out = out.replaceAll(from, to);
      return out;
    });
    return {
      gateway,
      auth,
      backend: backend.name,
      async stop() {
        await gateway.stop();
        for (const s of started) await s.stop();
        await auth.stop('SIGKILL');
        await backend.cleanup();
      },
    };
  } catch (err) {
    for (const s of started) await s.stop();
    await auth.stop('SIGKILL');
    await backend.cleanup();
    throw err;
  }
}
