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
} from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { BillingConfig } from './config.ts';
import { migrate } from './db/migrations.ts';
import { BillingService } from './domain/billing.ts';
import { CATALOGUE_V1, validateCatalogue } from './domain/catalogue.ts';
import { type Clock, days, systemClock } from './domain/clock.ts';
import {
  type EntitlementPublisher,
  memoryEntitlementPublisher,
  redisEntitlementPublisher,
} from './entitlements/publisher.ts';
import { localProvider } from './providers/local.ts';
import type { PaymentProvider } from './providers/provider.ts';
import { stripeProvider } from './providers/stripe.ts';
import { registerDocs } from './routes/docs.ts';
import { internalRoutes } from './routes/internal.ts';
import { subscriptionRoutes } from './routes/subscriptions.ts';
import { webhookRoutes } from './routes/webhooks.ts';

export interface BillingAppOptions {
  readonly logger?: Logger;
  readonly errors?: ErrorTracker;
  /** An open database (tests: a Postgres schema); otherwise opened from the config and closed with the app. */
  readonly database?: Database;
  readonly clock?: Clock;
  readonly provider?: PaymentProvider;
  readonly publisher?: EntitlementPublisher;
  /** Apply due period ends every `config.tickMs` (default true; tests call `billing.tick()`). */
  readonly scheduler?: boolean;
}

export interface BillingApp {
  readonly app: FastifyInstance;
  readonly billing: BillingService;
  readonly provider: PaymentProvider;
  readonly publisher: EntitlementPublisher;
  readonly readiness: Readiness;
  /** Stops the scheduler and closes the database and Redis (after the server has closed). */
  closeResources(): Promise<void>;
  close(): Promise<void>;
}

function providerFrom(config: BillingConfig): PaymentProvider {
  const p = config.provider;
  if (p.kind === 'local') return localProvider({ webhookSecrets: p.webhookSecrets });
  return stripeProvider({
    secretKey: p.secretKey,
    webhookSecrets: p.webhookSecrets,
    api:
      p.apiBase === undefined
        ? undefined
        : {
            host: p.apiBase.hostname,
            port: Number(p.apiBase.port || (p.apiBase.protocol === 'https:' ? 443 : 80)),
            protocol: p.apiBase.protocol === 'https:' ? 'https' : 'http',
          },
  });
}

/** The billing service from a config object; never listens (main.ts does). */
export async function buildApp(config: BillingConfig, options: BillingAppOptions = {}): Promise<BillingApp> {
  const problems = validateCatalogue(CATALOGUE_V1);
  if (problems.length > 0) throw new Error(`billing: the plan catalogue is broken: ${problems.join('; ')}`);
  const logger = options.logger ?? createLogger({ service: 'billing', level: config.logLevel });
  const ownsDatabase = options.database === undefined;
  const db = options.database ?? (await openDatabase(config.database));
  await migrate(db);

  let redis: Redis | undefined;
  let publisher = options.publisher;
  if (publisher === undefined && config.redisUrl !== undefined) {
    redis = new Redis(config.redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: false,
    });
    redis.on('error', (err) => logger.warn({ err }, 'billing: redis error'));
    publisher = redisEntitlementPublisher(redis);
  }
  publisher ??= memoryEntitlementPublisher();

  const provider = options.provider ?? providerFrom(config);
  const billing = new BillingService({
    db,
    provider,
    publisher,
    clock: options.clock ?? systemClock,
    policy: { catalogue: CATALOGUE_V1, graceMs: days(config.graceDays), incompleteMs: 23 * 3_600_000 },
    logger,
  });

  const readiness = new Readiness();
  readiness.register('database', () => db.ping());
  // Without Redis the records still stand in the database and are republished: not critical.
  if (redis !== undefined) {
    const r = redis;
    readiness.register('redis', async () => (await r.ping()) === 'PONG', { critical: false });
  }
  const metrics = createMetricsRegistry('billing');
  const app = createServiceApp({
    prefix: 'BILL',
    logger,
    readiness,
    metrics,
    trustProxy: config.trustedProxies as string[],
    ...(options.errors === undefined ? {} : { errors: options.errors }),
  });
  const verifier = createAssertionVerifier(config.assertionKeys);
  const hooks = {
    user: requireIdentity(verifier, 'BILL'),
    platform: requirePlatformService(verifier, 'BILL'),
  };
  await registerDocs(app, config.publicUrl);
  subscriptionRoutes(app, billing, db, hooks);
  internalRoutes(app, billing, hooks);
  await webhookRoutes(app, billing, provider);
  await app.ready();

  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  if (options.scheduler !== false) {
    timer = setInterval(() => {
      if (ticking) return;
      ticking = true;
      billing
        .tick()
        .catch((err) => logger.warn({ err }, 'billing: scheduler tick failed'))
        .finally(() => {
          ticking = false;
        });
    }, config.tickMs);
    timer.unref();
  }

  let closed = false;
  async function closeResources(): Promise<void> {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    redis?.disconnect();
    if (ownsDatabase) await db.close();
  }
  return {
    app,
    billing,
    provider,
    publisher,
    readiness,
    closeResources,
    async close() {
      await app.close();
      await closeResources();
    },
  };
}
