import {
  createLogger,
  describeDatabase,
  exitOnConfigError,
  installGracefulShutdown,
  loadTelemetryConfig,
  maskSecrets,
  startErrorTracking,
  startTracing,
  type TelemetryConfig,
} from '@gatehouse/kit/service';
import { buildApp } from './app.ts';
import { type BillingConfig, loadConfig } from './config.ts';

let config: BillingConfig;
let telemetry: TelemetryConfig;
try {
  config = loadConfig(process.env);
  telemetry = loadTelemetryConfig(process.env, 'billing');
} catch (err) {
  exitOnConfigError(err, 'billing');
}

const logger = createLogger({ service: 'billing', level: config.logLevel });
logger.info(
  { config: maskSecrets({ ...config, database: describeDatabase(config.database) }) },
  'effective configuration',
);

const tracing = await startTracing(telemetry, { logger, register: true });
const errors = await startErrorTracking(telemetry, logger);
try {
  const billing = await buildApp(config, { logger, errors });
  installGracefulShutdown({
    logger,
    servers: [billing.app.server],
    readiness: billing.readiness,
    resources: [
      { name: 'error tracking', close: () => errors.close(2000) },
      { name: 'span export', close: () => tracing.shutdown() },
      { name: 'billing resources', close: () => billing.closeResources() },
    ],
  });
  const address = await billing.app.listen({ host: config.host, port: config.port });
  logger.info({ url: address, provider: config.provider.kind }, 'billing: listening');
} catch (err) {
  logger.fatal({ err }, 'billing: failed to start');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.exit(1);
}
