import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { AssertionKey } from '../assertion.ts';
import { type Env, secretString } from '../config.ts';
import { type DatabaseConfig, databaseConfigFromEnv } from '../db/index.ts';
import { LOG_LEVELS, type LogLevel } from '../logger.ts';

/** The repository root: development data lives in `<root>/.data/<service>`. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Variables every service reads besides its own `<PREFIX>_*` ones. */
export const SHARED_SERVICE_VARIABLES = [
  'NODE_ENV',
  'LOG_LEVEL',
  'DATABASE_URL',
  'REDIS_URL',
  'GATEWAY_ASSERTION_SECRET',
] as const;

const flag = z.enum(['true', 'false', '1', '0']).optional();

type Shape<P extends string> = {
  NODE_ENV: z.ZodOptional<z.ZodEnum<{ development: 'development'; test: 'test'; production: 'production' }>>;
  LOG_LEVEL: z.ZodOptional<z.ZodEnum<{ [L in LogLevel]: L }>>;
  DATABASE_URL: z.ZodOptional<z.ZodURL>;
  REDIS_URL: z.ZodOptional<z.ZodURL>;
  GATEWAY_ASSERTION_SECRET: ReturnType<typeof secretString>;
} & { [K in `${P}_HOST` | `${P}_DATA_DIR` | `${P}_TRUSTED_PROXIES`]: z.ZodOptional<z.ZodString> } & {
  [K in `${P}_PORT`]: z.ZodOptional<z.ZodCoercedNumber>;
} & { [K in `${P}_DB_MEMORY`]: typeof flag };

/**
 * The environment every service reads, under its prefix: `<P>_HOST`,
 * `<P>_PORT`, `<P>_DATA_DIR`, `<P>_DB_MEMORY` (development only),
 * `<P>_TRUSTED_PROXIES`, and the shared `DATABASE_URL`, `REDIS_URL`,
 * `GATEWAY_ASSERTION_SECRET`, `NODE_ENV`, `LOG_LEVEL`. Spread it into the
 * service's own strict schema; `scripts/start.ts` relies on these names.
 */
export function serviceEnvShape<const P extends string>(prefix: P): Shape<P> {
  return {
    NODE_ENV: z.enum(['development', 'test', 'production']).optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    GATEWAY_ASSERTION_SECRET: secretString(),
    [`${prefix}_HOST`]: z.string().min(1).optional(),
    [`${prefix}_PORT`]: z.coerce.number().int().min(0).max(65_535).optional(),
    [`${prefix}_DATA_DIR`]: z.string().min(1).optional(),
    [`${prefix}_DB_MEMORY`]: flag,
    [`${prefix}_TRUSTED_PROXIES`]: z.string().optional(),
  } as Shape<P>;
}

/** Production refuses the development-only base settings; call from the service schema's superRefine. */
export function checkServiceEnv(
  prefix: string,
  env: Readonly<Record<string, unknown>>,
  issue: (variable: string, message: string) => void,
): void {
  if (env.NODE_ENV !== 'production') return;
  if (env[`${prefix}_DB_MEMORY`] !== undefined) issue(`${prefix}_DB_MEMORY`, 'is development-only');
}

/** Only the variables this service reads: an unknown `<P>_*` variable is a typo and is refused. */
export function pickServiceEnv(
  env: Env,
  prefix: string,
  others: readonly string[] = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (
      key.startsWith(`${prefix}_`) ||
      (SHARED_SERVICE_VARIABLES as readonly string[]).includes(key) ||
      others.includes(key)
    ) {
      out[key] = value;
    }
  }
  return out;
}

export interface BaseServiceConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly production: boolean;
  readonly logLevel: LogLevel;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly redisUrl: string | undefined;
  readonly assertionKeys: readonly AssertionKey[];
  readonly trustedProxies: readonly string[];
}

export function splitList(value: string | undefined, fallback: string[]): string[] {
  return value === undefined
    ? fallback
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

export const envFlag = (value: string | undefined): boolean => value === 'true' || value === '1';

/**
 * The base part of a service's config from its parsed environment.
 * `name` is the service's data folder under `.data/`; `port` its development
 * port (the one config/gateway.yaml routes to).
 */
export function baseServiceConfig(
  prefix: string,
  e: Readonly<Record<string, unknown>>,
  defaults: { readonly name: string; readonly port: number },
): BaseServiceConfig {
  const get = <T>(suffix: string) => e[`${prefix}_${suffix}`] as T | undefined;
  const nodeEnv = (e.NODE_ENV as BaseServiceConfig['env'] | undefined) ?? 'development';
  const dataDir = resolve(get<string>('DATA_DIR') ?? resolve(REPO_ROOT, '.data', defaults.name));
  return {
    env: nodeEnv,
    production: nodeEnv === 'production',
    logLevel: (e.LOG_LEVEL as LogLevel | undefined) ?? 'info',
    host: get<string>('HOST') ?? '127.0.0.1',
    port: get<number>('PORT') ?? defaults.port,
    dataDir,
    database: envFlag(get<string>('DB_MEMORY'))
      ? { kind: 'memory' }
      : databaseConfigFromEnv(e.DATABASE_URL as string | undefined, dataDir),
    redisUrl: e.REDIS_URL as string | undefined,
    assertionKeys: [{ kid: 'gw1', secret: e.GATEWAY_ASSERTION_SECRET as string }],
    trustedProxies: splitList(get<string>('TRUSTED_PROXIES'), ['127.0.0.1', '::1']),
  };
}
