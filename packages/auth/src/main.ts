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
import { type AuthConfig, loadConfig } from './config.ts';

let config: AuthConfig;
let telemetry: TelemetryConfig;
try {
  config = loadConfig(process.env);
  telemetry = loadTelemetryConfig(process.env, 'auth');
} catch (err) {
  exitOnConfigError(err, 'auth');
}

const logger = createLogger({ service: 'auth', level: config.logLevel });
logger.info(
  {
    config: maskSecrets({
      ...config,
      database: describeDatabase(config.database),
      signingKeys:
        config.signingKeys === undefined
          ? 'development key directory'
          : `${config.signingKeys.length} key(s)`,
    }),
  },
  'effective configuration',
);

// Registered before the app is built: request and query spans find the provider through the API.
const tracing = await startTracing(telemetry, { logger, register: true });
// The Sentry SDK is loaded only when SENTRY_DSN is set.
const errors = await startErrorTracking(telemetry, logger);
try {
  const auth = await buildApp(config, { logger, errors });
  installGracefulShutdown({
    logger,
    servers: [auth.app.server],
    readiness: auth.readiness,
    // Closed in reverse: error tracking last, so what fails while closing is still reported.
    resources: [
      { name: 'error tracking', close: () => errors.close(2000) },
      { name: 'span export', close: () => tracing.shutdown() },
      { name: 'auth resources', close: () => auth.closeResources() },
    ],
  });
  const address = await auth.app.listen({ host: config.host, port: config.port });
  logger.info({ url: address }, 'auth: listening');
} catch (err) {
  logger.fatal({ err }, 'auth: failed to start');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.exit(1);
}
