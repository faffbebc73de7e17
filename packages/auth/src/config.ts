import {
  type BaseServiceConfig,
  baseServiceConfig,
  checkServiceEnv,
  type Env,
  envFlag,
  parseConfig,
  pickServiceEnv,
  serviceEnvShape,
  splitList,
} from '@gatehouse/kit/service';
import { z } from 'zod';

/** OWASP password storage cheat sheet: argon2id, m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MAX_ACCESS_TTL_SECONDS = 900;
/** The shortest access-token lifetime in production: shorter ones only multiply refreshes. */
export const MIN_ACCESS_TTL_SECONDS = 60;
/**
 * Outside production a test may ask for tokens that expire within seconds, to
 * watch a real expiry (the browser suite's session that outlives its tokens).
 */
export const MIN_DEV_ACCESS_TTL_SECONDS = 5;

export interface SigningKeyInput {
  readonly jwk: Record<string, unknown>;
  readonly signFrom?: number | undefined;
  readonly retireAt?: number | undefined;
}

/** Kit's base service config (host, port, data dir, database, Redis, assertion keys, proxies) and auth's own. */
export interface AuthConfig extends BaseServiceConfig {
  readonly issuer: string;
  readonly audience: string;
  /** From AUTH_SIGNING_KEYS (production); undefined means the dev key directory under dataDir. */
  readonly signingKeys: readonly SigningKeyInput[] | undefined;
  readonly tokens: {
    readonly accessTtlSeconds: number;
    readonly refreshTtlSeconds: number;
    readonly refreshReuseGraceSeconds: number;
    readonly keyPublishLeadSeconds: number;
  };
  readonly passwords: {
    readonly minLength: number;
    readonly maxLength: number;
    readonly argon2: { readonly memoryCost: number; readonly timeCost: number; readonly parallelism: number };
  };
  readonly throttle: {
    readonly accountMaxFailures: number;
    readonly clientMaxFailures: number;
    readonly lockSeconds: number;
    readonly windowSeconds: number;
  };
  readonly cookies: { readonly insecureDev: boolean };
  readonly allowedOrigins: readonly string[];
  readonly publicUrl: string;
  /** SMTP for outgoing mail; without it mail stays in the development outbox. */
  readonly smtp: { readonly url: string; readonly from: string } | undefined;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();
const flag = z.enum(['true', 'false', '1', '0']).optional();
const list = z.string().optional();

const signingKeysSchema = z.array(
  z
    .object({
      jwk: z
        .record(z.string(), z.unknown())
        .refine((j) => typeof j.kid === 'string' && typeof j.d === 'string', {
          message: 'each jwk must be a private key with a kid',
        }),
      signFrom: z.number().int().optional(),
      retireAt: z.number().int().optional(),
    })
    .strict(),
);

const envSchema = z
  .object({
    ...serviceEnvShape('AUTH'),
    AUTH_ISSUER: z.string().min(1).optional(),
    AUTH_AUDIENCE: z.string().min(1).optional(),
    AUTH_SIGNING_KEYS: z.string().optional(),
    AUTH_ACCESS_TTL_SECONDS: int(MIN_DEV_ACCESS_TTL_SECONDS, MAX_ACCESS_TTL_SECONDS),
    AUTH_REFRESH_TTL_SECONDS: int(300, 90 * 86_400),
    AUTH_REFRESH_REUSE_GRACE_SECONDS: int(0, 30),
    AUTH_KEY_PUBLISH_LEAD_SECONDS: int(0, 86_400),
    AUTH_PASSWORD_MIN_LENGTH: int(8, 64),
    AUTH_PASSWORD_MAX_LENGTH: int(64, 1024),
    AUTH_ARGON2_MEMORY_KIB: int(1024, 1_048_576),
    AUTH_ARGON2_TIME_COST: int(1, 20),
    AUTH_LOGIN_MAX_FAILURES: int(3, 100),
    AUTH_CLIENT_MAX_FAILURES: int(5, 100_000),
    AUTH_LOCK_SECONDS: int(10, 86_400),
    AUTH_COOKIE_INSECURE_DEV: flag,
    AUTH_ALLOWED_ORIGINS: list,
    AUTH_PUBLIC_URL: z.url().optional(),
    /** smtp://user:pass@host:587 or smtps://…:465; mail is relayed from the outbox through it. */
    SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
    MAIL_FROM: z.string().min(3).optional(),
  })
  .strict()
  .superRefine((env, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (env.AUTH_SIGNING_KEYS !== undefined) {
      const parsed = parseSigningKeys(env.AUTH_SIGNING_KEYS);
      if (typeof parsed === 'string') issue('AUTH_SIGNING_KEYS', parsed);
    }
    if (env.SMTP_URL !== undefined && env.MAIL_FROM === undefined)
      issue('MAIL_FROM', 'is required with SMTP_URL');
    checkServiceEnv('AUTH', env, issue);
    if (env.NODE_ENV !== 'production') return;
    if (env.AUTH_SIGNING_KEYS === undefined)
      issue('AUTH_SIGNING_KEYS', 'is required in production (private JWKs)');
    if (env.AUTH_ISSUER === undefined) issue('AUTH_ISSUER', 'is required in production');
    if (env.AUTH_ALLOWED_ORIGINS === undefined) issue('AUTH_ALLOWED_ORIGINS', 'is required in production');
    if (env.AUTH_PUBLIC_URL === undefined) issue('AUTH_PUBLIC_URL', 'is required in production');
    if (env.AUTH_COOKIE_INSECURE_DEV !== undefined) issue('AUTH_COOKIE_INSECURE_DEV', 'is development-only');
    if (env.AUTH_ACCESS_TTL_SECONDS !== undefined && env.AUTH_ACCESS_TTL_SECONDS < MIN_ACCESS_TTL_SECONDS) {
      issue('AUTH_ACCESS_TTL_SECONDS', `must be at least ${MIN_ACCESS_TTL_SECONDS} in production`);
    }
    if (env.AUTH_ARGON2_MEMORY_KIB !== undefined && env.AUTH_ARGON2_MEMORY_KIB < OWASP_ARGON2.memoryCost) {
      issue('AUTH_ARGON2_MEMORY_KIB', `must be at least ${OWASP_ARGON2.memoryCost} in production`);
    }
    if (env.AUTH_ARGON2_TIME_COST !== undefined && env.AUTH_ARGON2_TIME_COST < OWASP_ARGON2.timeCost) {
      issue('AUTH_ARGON2_TIME_COST', `must be at least ${OWASP_ARGON2.timeCost} in production`);
    }
  });

function parseSigningKeys(text: string): SigningKeyInput[] | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'must be JSON: [{ "jwk": { private JWK with kid }, "signFrom"?: unix s, "retireAt"?: unix s }]';
  }
  const result = signingKeysSchema.safeParse(json);
  if (!result.success) return result.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`).join('; ');
  if (result.data.length === 0) return 'must hold at least one key';
  return result.data;
}

/** Only the variables this process reads: an unknown `AUTH_*` variable is a typo and is refused. */
export function pickEnv(env: Env): Record<string, string> {
  return pickServiceEnv(env, 'AUTH', ['SMTP_URL', 'MAIL_FROM']);
}

/** Parses the identity service's configuration from the environment; every problem at once. */
export function loadConfig(env: Env): AuthConfig {
  const e = parseConfig(envSchema, pickEnv(env), 'auth configuration (environment)');
  const keys =
    e.AUTH_SIGNING_KEYS === undefined
      ? undefined
      : (parseSigningKeys(e.AUTH_SIGNING_KEYS) as SigningKeyInput[]);
  const minLength = e.AUTH_PASSWORD_MIN_LENGTH ?? 15;
  return {
    ...baseServiceConfig('AUTH', e, { name: 'auth', port: 4001 }),
    issuer: e.AUTH_ISSUER ?? 'https://auth.gatehouse.local',
    audience: e.AUTH_AUDIENCE ?? 'gatehouse',
    signingKeys: keys,
    tokens: {
      accessTtlSeconds: e.AUTH_ACCESS_TTL_SECONDS ?? 600,
      refreshTtlSeconds: e.AUTH_REFRESH_TTL_SECONDS ?? 30 * 86_400,
      refreshReuseGraceSeconds: e.AUTH_REFRESH_REUSE_GRACE_SECONDS ?? 5,
      keyPublishLeadSeconds: e.AUTH_KEY_PUBLISH_LEAD_SECONDS ?? 600,
    },
    passwords: {
      minLength,
      maxLength: Math.max(e.AUTH_PASSWORD_MAX_LENGTH ?? 128, minLength),
      argon2: {
        memoryCost: e.AUTH_ARGON2_MEMORY_KIB ?? OWASP_ARGON2.memoryCost,
        timeCost: e.AUTH_ARGON2_TIME_COST ?? OWASP_ARGON2.timeCost,
        parallelism: 1,
      },
    },
    throttle: {
      accountMaxFailures: e.AUTH_LOGIN_MAX_FAILURES ?? 5,
      clientMaxFailures: e.AUTH_CLIENT_MAX_FAILURES ?? 50,
      lockSeconds: e.AUTH_LOCK_SECONDS ?? 900,
      windowSeconds: 900,
    },
    cookies: { insecureDev: envFlag(e.AUTH_COOKIE_INSECURE_DEV) },
    allowedOrigins: splitList(e.AUTH_ALLOWED_ORIGINS, ['http://127.0.0.1:8080', 'http://localhost:8080']),
    publicUrl: e.AUTH_PUBLIC_URL ?? 'http://127.0.0.1:8080',
    smtp: e.SMTP_URL === undefined ? undefined : { url: e.SMTP_URL, from: e.MAIL_FROM as string },
  };
}
