import { join } from 'node:path';
import cookie from '@fastify/cookie';
import {
  createAssertionVerifier,
  createLogger,
  createMetricsRegistry,
  createServiceApp,
  type Database,
  type ErrorTracker,
  type Logger,
  openDatabase,
  Readiness,
  requireIdentity,
  requirePlatformService,
  runMigrations,
} from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import { type AuthConfig, MAX_ACCESS_TTL_SECONDS } from './config.ts';
import { pruneExpiredRefreshTokens } from './db/refresh-tokens.ts';
import { pruneThrottles } from './db/throttles.ts';
import { ensureDevKey, KeyRing, keyDir, readKeyDir, toSigningKey } from './domain/keys.ts';
import { MailRelay } from './domain/mail-relay.ts';
import { createPasswordHasher } from './domain/passwords.ts';
import { RevocationFeed } from './domain/revocation-feed.ts';
import type { AuthServices } from './domain/services.ts';
import { createAccessTokenIssuer } from './domain/tokens.ts';
import { accountRoutes } from './routes/account.ts';
import { registerDocs } from './routes/docs.ts';
import type { RouteHooks } from './routes/http.ts';
import { internalRoutes } from './routes/internal.ts';
import { jwksRoutes } from './routes/jwks.ts';
import { sessionRoutes } from './routes/session.ts';
import { tenantRoutes } from './routes/tenants.ts';

export { type AuthConfig, loadConfig } from './config.ts';

export const MIGRATIONS_DIR = join(import.meta.dirname, 'db', 'migrations');

export interface AuthApp {
  readonly app: FastifyInstance;
  readonly services: AuthServices;
  readonly readiness: Readiness;
  /** Stops timers and closes Redis and the database (after the listener has drained). */
  closeResources(): Promise<void>;
  /** For tests: the app and its resources. */
  close(): Promise<void>;
}

export interface BuildOptions {
  readonly logger?: Logger;
  /** An already-open database (tests share one); otherwise opened from the config. */
  readonly database?: Database;
  /** Where unexpected errors (500s) are reported (startErrorTracking); none by default. */
  readonly errors?: ErrorTracker;
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

/** Builds the identity service from a config object. Never listens (main.ts does). */
export async function buildApp(config: AuthConfig, options: BuildOptions = {}): Promise<AuthApp> {
  const logger = options.logger ?? createLogger({ service: 'auth', level: config.logLevel });
  const ownDb = options.database === undefined;
  const db = options.database ?? (await openDatabase(config.database));
  const migrated = await runMigrations(db, MIGRATIONS_DIR);
  if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');

  const keys = loadKeys(config, logger);
  const hasher = await createPasswordHasher(config.passwords.argon2);
  const readiness = new Readiness();
  const feed = new RevocationFeed(db, logger, config.redisUrl, () => readiness.shuttingDown);
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
  };

  readiness.register('database', () => db.ping(), { timeoutMs: 1000 });
  if (config.redisUrl !== undefined) {
    readiness.register('redis', () => feed.redisReady === true, { critical: false });
  }
  const app = createServiceApp({
    prefix: 'AUTH',
    logger,
    readiness,
    metrics: createMetricsRegistry('auth'),
    trustProxy: [...config.trustedProxies],
    errors: options.errors,
  });
  await app.register(cookie);

  const verifier = createAssertionVerifier(config.assertionKeys);
  const hooks: RouteHooks = {
    user: requireIdentity(verifier, 'AUTH'),
    platform: requirePlatformService(verifier, 'AUTH'),
    verifier,
  };
  await registerDocs(app, config, hooks.platform);
  jwksRoutes(app, services);
  sessionRoutes(app, services, hooks);
  accountRoutes(app, services, hooks);
  tenantRoutes(app, services, hooks);
  internalRoutes(app, services, hooks);
  await app.ready();

  const timers = [
    setInterval(() => {
      Promise.all([
        feed.prune(MAX_ACCESS_TTL_SECONDS),
        pruneExpiredRefreshTokens(db),
        pruneThrottles(db),
      ]).catch((err) => logger.warn({ err }, 'pruning failed'));
    }, 5 * 60_000),
  ];
  if (keys.reload !== undefined) {
    const reload = keys.reload;
    timers.push(
      setInterval(() => {
        try {
          reload();
        } catch (err) {
          logger.error({ err }, 'reloading signing keys failed; keeping the current ones');
        }
      }, 10_000),
    );
  }
  for (const t of timers) t.unref();
  mail?.start();

  let closed = false;
  async function closeResources(): Promise<void> {
    if (closed) return;
    closed = true;
    for (const t of timers) clearInterval(t);
    await mail?.stop();
    await feed.close();
    if (ownDb) await db.close();
  }
  return {
    app,
    services,
    readiness,
    closeResources,
    async close() {
      await app.close();
      await closeResources();
    },
  };
}
