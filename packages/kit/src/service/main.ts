import type { Env } from '../config.ts';
import { exitOnConfigError, maskSecrets } from '../config.ts';
import { describeDatabase } from '../db/index.ts';
import { startErrorTracking } from '../error-tracking.ts';
import { createLogger } from '../logger.ts';
import { installGracefulShutdown } from '../shutdown.ts';
import { loadTelemetryConfig, type TelemetryConfig } from '../telemetry-config.ts';
import { startTracing } from '../tracing.ts';
import type { BaseServiceConfig } from './config.ts';
import type { ServiceBuildOptions, ServiceHandle } from './lifecycle.ts';

export interface RunServiceOptions<C extends BaseServiceConfig> {
  /** `auth`, `chat` …: names the process in logs and telemetry. */
  readonly name: string;
  readonly loadConfig: (env: Env) => C;
  readonly buildApp: (config: C, options: ServiceBuildOptions) => Promise<ServiceHandle>;
  /** Values to show instead of the raw ones in the startup log (secrets are masked anyway). */
  readonly describeConfig?: (config: C) => Record<string, unknown>;
  readonly env?: Env;
}

/**
 * Everything a service's `main.ts` does: parse the config (every problem at
 * once, exit 1), log the effective configuration without secrets, start
 * tracing and error tracking, build the app, install graceful shutdown and
 * listen. A service's main.ts is one call to this.
 */
export async function runService<C extends BaseServiceConfig>(options: RunServiceOptions<C>): Promise<void> {
  const { name } = options;
  const env = options.env ?? process.env;
  let config: C;
  let telemetry: TelemetryConfig;
  try {
    config = options.loadConfig(env);
    telemetry = loadTelemetryConfig(env, name);
  } catch (err) {
    exitOnConfigError(err, name);
  }

  const logger = createLogger({ service: name, level: config.logLevel });
  logger.info(
    {
      config: maskSecrets({
        ...config,
        database: describeDatabase(config.database),
        ...options.describeConfig?.(config),
      }),
    },
    'effective configuration',
  );

  // Registered before the app is built: request and query spans find the provider through the API.
  const tracing = await startTracing(telemetry, { logger, register: true });
  // The Sentry SDK is loaded only when SENTRY_DSN is set.
  const errors = await startErrorTracking(telemetry, logger);
  try {
    const service = await options.buildApp(config, { logger, errors });
    // Before the graceful shutdown's own handler drains the listener (WebSockets would hold it open).
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => service.beforeShutdown());
    installGracefulShutdown({
      logger,
      servers: [service.app.server],
      readiness: service.readiness,
      // Closed in reverse: error tracking last, so what fails while closing is still reported.
      resources: [
        { name: 'error tracking', close: () => errors.close(2000) },
        { name: 'span export', close: () => tracing.shutdown() },
        { name: `${name} resources`, close: () => service.closeResources() },
      ],
    });
    const address = await service.app.listen({ host: config.host, port: config.port });
    logger.info({ url: address }, `${name}: listening`);
  } catch (err) {
    logger.fatal({ err }, `${name}: failed to start`);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(1);
  }
}
