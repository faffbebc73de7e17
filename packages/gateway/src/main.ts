import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import {
  createLogger,
  type Env,
  exitOnConfigError,
  installGracefulShutdown,
  LOG_LEVELS,
  parseConfig,
} from '@gatehouse/kit';
import { z } from 'zod';
import { createGateway } from './app.ts';
import { loadGatewayConfigFile } from './config/load.ts';

const processEnvSchema = z.looseObject({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  GATEWAY_CONFIG: z.string().min(1).optional(),
});

/** `gatehouse-gateway serve --config FILE`: parse config once, build, listen, shut down gracefully. */
export async function serve(configPath: string | undefined, env: Env): Promise<void> {
  let processEnv: z.output<typeof processEnvSchema>;
  let loaded: ReturnType<typeof loadGatewayConfigFile>;
  try {
    processEnv = parseConfig(processEnvSchema, env, 'environment');
    const path = configPath ?? processEnv.GATEWAY_CONFIG;
    if (path === undefined)
      throw Object.assign(new Error('no config file: pass --config FILE or set GATEWAY_CONFIG'), {
        code: 'CONFIG_INVALID',
      });
    loaded = loadGatewayConfigFile(path, env);
  } catch (err) {
    exitOnConfigError(err, 'gatehouse-gateway');
  }
  const { config } = loaded;
  const logger = createLogger({ service: 'gateway', level: processEnv.LOG_LEVEL });
  logger.info({ config: loaded.masked, nodeEnv: processEnv.NODE_ENV }, 'effective configuration');

  const gateway = createGateway(config, { logger, maskedConfig: loaded.masked });
  try {
    await gateway.start();
  } catch (err) {
    logger.fatal({ err }, 'cannot start: keys could not be loaded');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(1);
  }
  gateway.server.listen(config.listen.port, config.listen.host);
  gateway.admin.listen(config.admin.port, config.admin.host);
  await Promise.all([once(gateway.server, 'listening'), once(gateway.admin, 'listening')]);
  const url = addressUrl(gateway.server.address() as AddressInfo);
  const adminUrl = addressUrl(gateway.admin.address() as AddressInfo);
  logger.info(
    { url, adminUrl, routes: gateway.routes.routes.length, configHash: gateway.configHash },
    'listening',
  );

  installGracefulShutdown({
    logger,
    servers: [gateway.server, gateway.admin],
    readiness: gateway.readiness,
    deadlineMs: config.limits.shutdownDeadlineMs,
    drainDelayMs: config.limits.shutdownDrainDelayMs,
    resources: [{ name: 'upstream pools and key refresh', close: () => gateway.close() }],
  });
}

function addressUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { config: { type: 'string', short: 'c' } },
    allowPositionals: true,
  });
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'serve')) {
    process.stderr.write('usage: main.ts [serve] --config FILE\n');
    process.exit(2);
  }
  await serve(values.config, process.env);
}
