import cluster from 'node:cluster';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import {
  createLogger,
  type Env,
  exitOnConfigError,
  installGracefulShutdown,
  LOG_LEVELS,
  loadTelemetryConfig,
  parseConfig,
  startErrorTracking,
  type TelemetryConfig,
} from '@gatehouse/kit';
import { z } from 'zod';
import { createGateway } from './app.ts';
import { perWorkerLimits, runPrimary, serveAsWorker } from './cluster.ts';
import { loadGatewayConfigFile } from './config/load.ts';

const processEnvSchema = z.looseObject({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  GATEWAY_CONFIG: z.string().min(1).optional(),
  /** Worker processes (node:cluster): a number, or `auto` for one per core. 1 runs no cluster. */
  GATEWAY_WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default(1),
});

/** `gatehouse-gateway serve --config FILE`: parse config once, build, listen, shut down gracefully. */
export async function serve(configPath: string | undefined, env: Env, workersFlag?: string): Promise<void> {
  let processEnv: z.output<typeof processEnvSchema>;
  let loaded: ReturnType<typeof loadGatewayConfigFile>;
  let telemetry: TelemetryConfig;
  try {
    telemetry = loadTelemetryConfig(env, 'gateway');
    processEnv = parseConfig(
      processEnvSchema,
      workersFlag === undefined ? env : { ...env, GATEWAY_WORKERS: workersFlag },
      'environment',
    );
    const path = configPath ?? processEnv.GATEWAY_CONFIG;
    if (path === undefined)
      throw Object.assign(new Error('no config file: pass --config FILE or set GATEWAY_CONFIG'), {
        code: 'CONFIG_INVALID',
      });
    loaded = loadGatewayConfigFile(path, env);
  } catch (err) {
    exitOnConfigError(err, 'gatehouse-gateway');
  }
  const workers = processEnv.GATEWAY_WORKERS === 'auto' ? availableParallelism() : processEnv.GATEWAY_WORKERS;
  const logger = createLogger({ service: 'gateway', level: processEnv.LOG_LEVEL });
  if (workers > 1 && cluster.isPrimary) {
    logger.info({ config: loaded.masked, nodeEnv: processEnv.NODE_ENV, workers }, 'effective configuration');
    if (loaded.config.rateLimits.redisUrl === undefined) {
      logger.warn({ workers }, 'no Redis for rate limits: each worker enforces 1/N of every limit');
    }
    await runPrimary({
      workers,
      config: loaded.config,
      maskedConfig: loaded.masked,
      logger,
      deadlineMs: loaded.config.limits.shutdownDeadlineMs,
    });
    return;
  }
  const config = perWorkerLimits(loaded.config, workers);
  if (cluster.isPrimary)
    logger.info({ config: loaded.masked, nodeEnv: processEnv.NODE_ENV }, 'effective configuration');

  // The tracing SDK and exporter are loaded only when spans are exported (an OTLP endpoint is set).
  const tracing =
    telemetry.traces.endpoint === undefined
      ? undefined
      : await (await import('@gatehouse/kit/tracing')).startTracing(telemetry, {
          logger,
          callerSamplesNewTraces: true,
        });
  // The Sentry SDK is loaded only when SENTRY_DSN is set.
  const errors = await startErrorTracking(telemetry, logger);
  const gateway = createGateway(config, {
    logger,
    maskedConfig: loaded.masked,
    tracing,
    errors,
  });
  try {
    await gateway.start();
  } catch (err) {
    logger.fatal({ err }, 'cannot start: keys could not be loaded');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(1);
  }
  // In a cluster the primary serves the admin listener for all workers.
  const servers = cluster.isWorker ? [gateway.server] : [gateway.server, gateway.admin];
  if (cluster.isWorker) serveAsWorker(gateway);
  gateway.server.listen(config.listen.port, config.listen.host);
  if (!cluster.isWorker) gateway.admin.listen(config.admin.port, config.admin.host);
  await Promise.all(servers.map((server) => once(server, 'listening')));
  const url = addressUrl(gateway.server.address() as AddressInfo);
  const adminUrl = cluster.isWorker ? undefined : addressUrl(gateway.admin.address() as AddressInfo);
  const worker = cluster.isWorker ? cluster.worker?.id : undefined;
  logger.info(
    { url, adminUrl, worker, routes: gateway.routes.routes.length, configHash: gateway.configHash },
    'listening',
  );

  // Next to the shutdown below (which closes the listener, and waits for every connection): open
  // tunnels get websockets.drainDeadlineMs, then are closed, well inside limits.shutdownDeadlineMs.
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => void gateway.drainTunnels());
  installGracefulShutdown({
    logger,
    servers,
    readiness: gateway.readiness,
    deadlineMs: config.limits.shutdownDeadlineMs,
    drainDelayMs: config.limits.shutdownDrainDelayMs,
    // Closed in reverse: error tracking last, so what fails while closing is still reported.
    resources: [
      { name: 'error tracking', close: () => errors.close(2000) },
      { name: 'upstream pools and key refresh', close: () => gateway.close() },
      ...(tracing === undefined ? [] : [{ name: 'span export', close: () => tracing.shutdown() }]),
    ],
  });
}

function addressUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { config: { type: 'string', short: 'c' }, workers: { type: 'string', short: 'w' } },
    allowPositionals: true,
  });
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'serve')) {
    process.stderr.write('usage: main.ts [serve] --config FILE [--workers N|auto]\n');
    process.exit(2);
  }
  await serve(values.config, process.env, values.workers);
}
