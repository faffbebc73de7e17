import {
  createLogger,
  exitOnConfigError,
  installGracefulShutdown,
  loadTelemetryConfig,
  maskSecrets,
  startErrorTracking,
  type TelemetryConfig,
} from '@gatehouse/kit/service';
import { buildApp } from './app.ts';
import { ensureBuilt } from './build.ts';
import { loadConfig, type WebConfig } from './config.ts';

let config: WebConfig;
let telemetry: TelemetryConfig;
try {
  config = loadConfig(process.env);
  telemetry = loadTelemetryConfig(process.env, 'web');
} catch (err) {
  exitOnConfigError(err, 'web');
}

const logger = createLogger({ service: 'web', level: config.logLevel });
logger.info({ config: maskSecrets(config) }, 'effective configuration');
const errors = await startErrorTracking(telemetry, logger);
try {
  // A fresh clone has no dist/: the first start builds it (about 2 s), later starts only check the stamp.
  if (config.buildOnStart) {
    const built = await ensureBuilt({ distDir: config.distDir, log: (m) => logger.info(m) });
    if (built) logger.info({ distDir: config.distDir }, 'web: app built');
  }
  const web = await buildApp(config, { logger, errors });
  installGracefulShutdown({
    logger,
    servers: [web.app.server],
    readiness: web.readiness,
    resources: [{ name: 'error tracking', close: () => errors.close(2000) }],
  });
  const address = await web.app.listen({ host: config.host, port: config.port });
  logger.info({ url: address }, 'web: listening');
} catch (err) {
  logger.fatal({ err }, 'web: failed to start');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.exit(1);
}
