import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AssertionKey,
  type DatabaseConfig,
  databaseConfigFromEnv,
  type Env,
  LOG_LEVELS,
  type LogLevel,
  parseConfig,
  secretString,
  secretWeakness,
} from '@gatehouse/kit/service';
import { z } from 'zod';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export type ProviderConfig =
  | { readonly kind: 'local'; readonly webhookSecrets: readonly string[] }
  | {
      readonly kind: 'stripe';
      readonly secretKey: string;
      readonly webhookSecrets: readonly string[];
      /** Another API origin (a Stripe mock); api.stripe.com when undefined. */
      readonly apiBase: URL | undefined;
    };

export interface BillingConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly production: boolean;
  readonly logLevel: LogLevel;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly redisUrl: string | undefined;
  readonly assertionKeys: readonly AssertionKey[];
  readonly provider: ProviderConfig;
  /** past_due → canceled (free) after this many days without a successful payment. */
  readonly graceDays: number;
  /** How often due period ends and grace deadlines are applied. */
  readonly tickMs: number;
  readonly publicUrl: string;
  readonly trustedProxies: readonly string[];
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();
const flag = z.enum(['true', 'false', '1', '0']).optional();

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
    BILLING_HOST: z.string().min(1).optional(),
    BILLING_PORT: int(0, 65_535),
    BILLING_DATA_DIR: z.string().min(1).optional(),
    BILLING_DB_MEMORY: flag,
    BILLING_PROVIDER: z.enum(['local', 'stripe']).optional(),
    BILLING_LOCAL_WEBHOOK_SECRET: z.string().optional(),
    BILLING_GRACE_DAYS: int(0, 28),
    BILLING_TICK_MS: int(100, 3_600_000),
    BILLING_PUBLIC_URL: z.url().optional(),
    BILLING_TRUSTED_PROXIES: z.string().optional(),
    STRIPE_SECRET_KEY: z.string().optional(),
    /** Comma-separated: more than one while rotating. */
    STRIPE_WEBHOOK_SECRETS: z.string().optional(),
    STRIPE_API_BASE: z.url({ protocol: /^https?$/ }).optional(),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    GATEWAY_ASSERTION_SECRET: secretString(),
  })
  .strict()
  .superRefine((env, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const production = env.NODE_ENV === 'production';
    const provider = env.BILLING_PROVIDER ?? (production ? 'stripe' : 'local');
    if (provider === 'stripe') {
      // Secrets have no fallback, in any environment: a Stripe set-up without them cannot work.
      if (env.STRIPE_SECRET_KEY === undefined)
        issue('STRIPE_SECRET_KEY', 'is required with the stripe provider');
      else if (secretWeakness(env.STRIPE_SECRET_KEY) !== undefined)
        issue('STRIPE_SECRET_KEY', `secret ${secretWeakness(env.STRIPE_SECRET_KEY)}`);
      const secrets = splitList(env.STRIPE_WEBHOOK_SECRETS);
      if (secrets.length === 0) issue('STRIPE_WEBHOOK_SECRETS', 'is required with the stripe provider');
      for (const secret of secrets) {
        const weakness = secretWeakness(secret);
        if (weakness !== undefined) issue('STRIPE_WEBHOOK_SECRETS', `a secret ${weakness}`);
      }
    }
    if (
      env.BILLING_LOCAL_WEBHOOK_SECRET !== undefined &&
      secretWeakness(env.BILLING_LOCAL_WEBHOOK_SECRET) !== undefined
    )
      issue('BILLING_LOCAL_WEBHOOK_SECRET', `secret ${secretWeakness(env.BILLING_LOCAL_WEBHOOK_SECRET)}`);
    if (!production) return;
    if (provider === 'local')
      issue('BILLING_PROVIDER', 'local completes every payment on this machine: development only');
    if (env.BILLING_DB_MEMORY !== undefined) issue('BILLING_DB_MEMORY', 'is development-only');
    if (env.BILLING_PUBLIC_URL === undefined) issue('BILLING_PUBLIC_URL', 'is required in production');
    if (env.STRIPE_API_BASE !== undefined)
      issue('STRIPE_API_BASE', 'is for tests against a local Stripe mock');
  });

function splitList(value: string | undefined, fallback: string[] = []): string[] {
  if (value === undefined) return fallback;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const bool = (value: string | undefined) => value === 'true' || value === '1';

const OTHER_KEYS = [
  'NODE_ENV',
  'LOG_LEVEL',
  'DATABASE_URL',
  'REDIS_URL',
  'GATEWAY_ASSERTION_SECRET',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRETS',
  'STRIPE_API_BASE',
];

/** Only the variables this process reads: an unknown `BILLING_*` variable is a typo and is refused. */
export function pickEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (key.startsWith('BILLING_') || OTHER_KEYS.includes(key)) out[key] = value;
  }
  return out;
}

/** Parses the billing service's configuration from the environment; every problem at once. */
export function loadConfig(env: Env): BillingConfig {
  const e = parseConfig(envSchema, pickEnv(env), 'billing configuration (environment)');
  const nodeEnv = e.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';
  const dataDir = resolve(e.BILLING_DATA_DIR ?? resolve(REPO_ROOT, '.data/billing'));
  const kind = e.BILLING_PROVIDER ?? (production ? 'stripe' : 'local');
  const provider: ProviderConfig =
    kind === 'stripe'
      ? {
          kind,
          secretKey: e.STRIPE_SECRET_KEY as string,
          webhookSecrets: splitList(e.STRIPE_WEBHOOK_SECRETS),
          apiBase: e.STRIPE_API_BASE === undefined ? undefined : new URL(e.STRIPE_API_BASE),
        }
      : {
          kind,
          // The local provider signs its own events; a fresh secret per process is enough for that.
          webhookSecrets: [
            e.BILLING_LOCAL_WEBHOOK_SECRET ?? `whsec_${randomBytes(32).toString('base64url')}`,
          ],
        };
  return {
    env: nodeEnv,
    production,
    logLevel: e.LOG_LEVEL ?? 'info',
    host: e.BILLING_HOST ?? '127.0.0.1',
    port: e.BILLING_PORT ?? 4003,
    dataDir,
    database: bool(e.BILLING_DB_MEMORY) ? { kind: 'memory' } : databaseConfigFromEnv(e.DATABASE_URL, dataDir),
    redisUrl: e.REDIS_URL,
    assertionKeys: [{ kid: 'gw1', secret: e.GATEWAY_ASSERTION_SECRET }],
    provider,
    graceDays: e.BILLING_GRACE_DAYS ?? 7,
    tickMs: e.BILLING_TICK_MS ?? 5_000,
    publicUrl: e.BILLING_PUBLIC_URL ?? 'http://127.0.0.1:8080',
    trustedProxies: splitList(e.BILLING_TRUSTED_PROXIES, ['127.0.0.1', '::1']),
  };
}
