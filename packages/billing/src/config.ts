import { randomBytes } from 'node:crypto';
import {
  type BaseServiceConfig,
  baseServiceConfig,
  checkServiceEnv,
  type Env,
  parseConfig,
  pickServiceEnv,
  secretWeakness,
  serviceEnvShape,
  splitList,
} from '@gatehouse/kit/service';
import { z } from 'zod';

export type ProviderConfig =
  | { readonly kind: 'local'; readonly webhookSecrets: readonly string[] }
  | {
      readonly kind: 'stripe';
      readonly secretKey: string;
      readonly webhookSecrets: readonly string[];
      /** Another API origin (a Stripe mock); api.stripe.com when undefined. */
      readonly apiBase: URL | undefined;
    };

export interface BillingConfig extends BaseServiceConfig {
  readonly provider: ProviderConfig;
  /** past_due → canceled (free) after this many days without a successful payment. */
  readonly graceDays: number;
  /** How often due period ends and grace deadlines are applied. */
  readonly tickMs: number;
  /** The gateway's public URL (the OpenAPI document's server). */
  readonly publicUrl: string;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();

const envSchema = z
  .object({
    ...serviceEnvShape('BILLING'),
    BILLING_PROVIDER: z.enum(['local', 'stripe']).optional(),
    BILLING_LOCAL_WEBHOOK_SECRET: z.string().optional(),
    BILLING_GRACE_DAYS: int(0, 28),
    BILLING_TICK_MS: int(100, 3_600_000),
    BILLING_PUBLIC_URL: z.url().optional(),
    STRIPE_SECRET_KEY: z.string().optional(),
    /** Comma-separated: more than one while rotating. */
    STRIPE_WEBHOOK_SECRETS: z.string().optional(),
    STRIPE_API_BASE: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict()
  .superRefine((env, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    checkServiceEnv('BILLING', env, issue);
    const production = env.NODE_ENV === 'production';
    const provider = env.BILLING_PROVIDER ?? (production ? 'stripe' : 'local');
    if (provider === 'stripe') {
      // Secrets have no fallback, in any environment: a Stripe set-up without them cannot work.
      if (env.STRIPE_SECRET_KEY === undefined)
        issue('STRIPE_SECRET_KEY', 'is required with the stripe provider');
      else if (secretWeakness(env.STRIPE_SECRET_KEY) !== undefined)
        issue('STRIPE_SECRET_KEY', `secret ${secretWeakness(env.STRIPE_SECRET_KEY)}`);
      const secrets = splitList(env.STRIPE_WEBHOOK_SECRETS, []);
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
    if (env.BILLING_PUBLIC_URL === undefined) issue('BILLING_PUBLIC_URL', 'is required in production');
    if (env.STRIPE_API_BASE !== undefined)
      issue('STRIPE_API_BASE', 'is for tests against a local Stripe mock');
  });

const STRIPE_VARIABLES = ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRETS', 'STRIPE_API_BASE'];

/** Parses the billing service's configuration from the environment; every problem at once. */
export function loadConfig(env: Env): BillingConfig {
  const e = parseConfig(
    envSchema,
    pickServiceEnv(env, 'BILLING', STRIPE_VARIABLES),
    'billing configuration (environment)',
  );
  const base = baseServiceConfig('BILLING', e, { name: 'billing', port: 4003 });
  const kind = e.BILLING_PROVIDER ?? (base.production ? 'stripe' : 'local');
  const provider: ProviderConfig =
    kind === 'stripe'
      ? {
          kind,
          secretKey: e.STRIPE_SECRET_KEY as string,
          webhookSecrets: splitList(e.STRIPE_WEBHOOK_SECRETS, []),
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
    ...base,
    provider,
    graceDays: e.BILLING_GRACE_DAYS ?? 7,
    tickMs: e.BILLING_TICK_MS ?? 5_000,
    publicUrl: e.BILLING_PUBLIC_URL ?? 'http://127.0.0.1:8080',
  };
}
