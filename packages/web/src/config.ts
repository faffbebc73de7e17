import { type Env, LOG_LEVELS, type LogLevel, parseConfig } from '@gatehouse/kit';
import { z } from 'zod';
import { DIST_DIR } from './build.ts';

export interface WebConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly logLevel: LogLevel;
  readonly host: string;
  readonly port: number;
  /** The built app (Vite's output). */
  readonly distDir: string;
  /** Build the app at start when dist/ is missing or stale (off in production: images ship it built). */
  readonly buildOnStart: boolean;
}

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
    WEB_HOST: z.string().min(1).optional(),
    WEB_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
    WEB_DIST_DIR: z.string().min(1).optional(),
    WEB_BUILD_ON_START: z.enum(['true', 'false']).optional(),
  })
  .strict();

/** Only the variables this process reads: an unknown `WEB_*` variable is a typo and is refused. */
function pickEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (key.startsWith('WEB_') || key === 'NODE_ENV' || key === 'LOG_LEVEL') out[key] = value;
  }
  return out;
}

export function loadConfig(env: Env): WebConfig {
  const e = parseConfig(envSchema, pickEnv(env), 'web configuration (environment)');
  const nodeEnv = e.NODE_ENV ?? 'development';
  return Object.freeze({
    env: nodeEnv,
    logLevel: e.LOG_LEVEL ?? 'info',
    host: e.WEB_HOST ?? '127.0.0.1',
    port: e.WEB_PORT ?? 4000,
    distDir: e.WEB_DIST_DIR ?? DIST_DIR,
    buildOnStart: (e.WEB_BUILD_ON_START ?? (nodeEnv === 'production' ? 'false' : 'true')) === 'true',
  });
}
