import { join } from 'node:path';
import cookie from '@fastify/cookie';
import type {
  Logger,
  Readiness,
  ServiceBuildOptions,
  ServiceHandle,
  ServiceParts,
} from '@gatehouse/kit/service';
import { startService } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { type AuthConfig, MAX_ACCESS_TTL_SECONDS } from './config.ts';
import { pruneExpiredRefreshTokens } from './db/refresh-tokens.ts';
import { pruneThrottles } from './db/throttles.ts';
import { ensureDevKey, KeyRing, keyDir, readKeyDir, toSigningKey } from './domain/keys.ts';
import { MailRelay } from './domain/mail-relay.ts';
import { createPasswordHasher } from './domain/passwords.ts';
import { RevocationFeed } from './domain/revocation-feed.ts';
import { type EntitlementSource, memoryEntitlements, redisEntitlements } from './domain/seats.ts';
import type { AuthServices } from './domain/services.ts';
import { createAccessTokenIssuer } from './domain/tokens.ts';
import { accountRoutes } from './routes/account.ts';
import { registerDocs } from './routes/docs.ts';
import { internalRoutes } from './routes/internal.ts';
import { jwksRoutes } from './routes/jwks.ts';
import { sessionRoutes } from './routes/session.ts';
import { tenantRoutes } from './routes/tenants.ts';

export { type AuthConfig, loadConfig } from './config.ts';

export const MIGRATIONS_DIR = join(import.meta.dirname, 'db', 'migrations');

export interface AuthApp extends ServiceHandle {
  readonly app: FastifyInstance;
  readonly services: AuthServices;
  readonly readiness: Readiness;
}

export interface BuildOptions extends ServiceBuildOptions {
  /** Billing's entitlement records (tests); by default Redis when configured, else none (free). */
  readonly entitlements?: EntitlementSource;
}

/** The tenant's seats come from billing's record in Redis; without Redis every tenant has the free plan's. */
function entitlementSource(redisUrl: string | undefined, service: ServiceParts): EntitlementSource {
  if (redisUrl === undefined) return memoryEntitlements();
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', (err: Error) =>
    service.logger.warn({ err: err.message }, 'redis (entitlements): connection problem'),
  );
  service.onClose('entitlement reader', () => redis.disconnect());
  return redisEntitlements(redis);
}

function loadKeys(config: AuthConfig, logger: Logger): { ring: KeyRing; reload?: () => void } {
  if (config.signingKeys !== undefined) {
    return { ring: new KeyRing(config.signingKeys.map(toSigningKey), MAX_ACCESS_TTL_SECONDS) };
  }
  const dir = keyDir(config.dataDir);
  const stored = ensureDevKey(dir);
  logger.info({ dir, kids: stored.map((k) => k.kid) }, 'development signing keys loaded');
  const ring = new KeyRing(stored.map(toSigningKey), MAX_ACCESS_TTL_SECONDS);
  // `cli.ts rotate-keys` writes the directory; a running service picks the change up.
  return { ring, reload: () => ring.replace(readKeyDir(dir).map(toSigningKey)) };
}

/** Builds the identity service from a config object on kit's service template. Never listens (main.ts does). */
export async function buildApp(config: AuthConfig, options: BuildOptions = {}): Promise<AuthApp> {
  const service = await startService(
    { name: 'auth', prefix: 'AUTH', migrationsDir: MIGRATIONS_DIR },
    config,
    options,
  );
  const { app, db, logger, readiness } = service;

  const keys = loadKeys(config, logger);
  const hasher = await createPasswordHasher(config.passwords.argon2);
  const feed = new RevocationFeed(db, logger, config.redisUrl, () => readiness.shuttingDown);
  service.onClose('revocation feed', () => feed.close());
  const mail = config.smtp === undefined ? undefined : new MailRelay(db, logger, config.smtp);
  if (mail === undefined && config.production) {
    logger.warn('SMTP_URL is not set: verification, reset and invitation mail stays in the outbox table');
  }
  const services: AuthServices = {
    config,
    db,
    logger,
    hasher,
    keys: keys.ring,
    tokens: createAccessTokenIssuer(keys.ring, {
      issuer: config.issuer,
      audience: config.audience,
      ttlSeconds: config.tokens.accessTtlSeconds,
    }),
    feed,
    mail,
    entitlements: options.entitlements ?? entitlementSource(config.redisUrl, service),
  };

  if (config.redisUrl !== undefined) {
    readiness.register('redis', () => feed.redisReady === true, { critical: false });
  }
  await app.register(cookie);
  await registerDocs(app, config, service.hooks.platform);

  jwksRoutes(app, services);
  sessionRoutes(app, services, service.hooks);
  accountRoutes(app, services, service.hooks);
  tenantRoutes(app, services, service.hooks);
  internalRoutes(app, services, service.hooks);

  service.every(5 * 60_000, 'pruning', () =>
    Promise.all([feed.prune(MAX_ACCESS_TTL_SECONDS), pruneExpiredRefreshTokens(db), pruneThrottles(db)]),
  );
  if (keys.reload !== undefined) {
    // A failed reload keeps the current keys (logged as `reloading signing keys failed`).
    service.every(10_000, 'reloading signing keys', keys.reload);
  }
  if (mail !== undefined) {
    mail.start();
    service.onClose('mail relay', () => mail.stop());
  }
  const handle = await service.finish();
  return { ...handle, app, services, readiness };
}
