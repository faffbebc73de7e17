import { type ServiceBuildOptions, type ServiceHandle, startService } from '@gatehouse/kit/service';
import { Redis } from 'ioredis';
import type { BillingConfig } from './config.ts';
import { pruneIdempotencyKeys } from './db/idempotency.ts';
import { MIGRATIONS_DIR } from './db/migrations.ts';
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

export { type BillingConfig, loadConfig } from './config.ts';

const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 3_600_000;

export interface BillingBuildOptions extends ServiceBuildOptions {
  readonly clock?: Clock;
  readonly provider?: PaymentProvider;
  readonly publisher?: EntitlementPublisher;
  /** Apply due period ends every `config.tickMs` (default true; tests call `billing.tick()`). */
  readonly scheduler?: boolean;
}

export interface BillingApp extends ServiceHandle {
  readonly billing: BillingService;
  readonly provider: PaymentProvider;
  readonly publisher: EntitlementPublisher;
}

function providerFrom(config: BillingConfig): PaymentProvider {
  const p = config.provider;
  if (p.kind === 'local') return localProvider({ webhookSecrets: p.webhookSecrets });
  const base = p.apiBase;
  return stripeProvider({
    secretKey: p.secretKey,
    webhookSecrets: p.webhookSecrets,
    api:
      base === undefined
        ? undefined
        : {
            host: base.hostname,
            port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
            protocol: base.protocol === 'https:' ? 'https' : 'http',
          },
  });
}

/** The billing service on kit's service template, from a config object. Never listens (main.ts does). */
export async function buildApp(
  config: BillingConfig,
  options: BillingBuildOptions = {},
): Promise<BillingApp> {
  const problems = validateCatalogue(CATALOGUE_V1);
  if (problems.length > 0) throw new Error(`billing: the plan catalogue is broken: ${problems.join('; ')}`);
  const service = await startService(
    // Webhook bodies are the largest input (Stripe events, a few KiB).
    { name: 'billing', prefix: 'BILL', migrationsDir: MIGRATIONS_DIR, bodyLimit: 256 * 1024 },
    config,
    options,
  );
  const { app, db, logger, readiness, hooks } = service;

  let publisher = options.publisher;
  if (publisher === undefined && config.redisUrl !== undefined) {
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'billing: redis error'));
    service.onClose('redis', () => redis.disconnect());
    // Without Redis a change is still stored and republished on the next tick: degraded, not down.
    readiness.register('redis', async () => (await redis.ping()) === 'PONG', { critical: false });
    publisher = redisEntitlementPublisher(redis);
  }
  publisher ??= memoryEntitlementPublisher();

  const provider = options.provider ?? providerFrom(config);
  const clock = options.clock ?? systemClock;
  const billing = new BillingService({
    db,
    provider,
    publisher,
    clock,
    policy: { catalogue: CATALOGUE_V1, graceMs: days(config.graceDays), incompleteMs: 23 * 3_600_000 },
    logger,
  });

  await registerDocs(app, config.publicUrl, hooks.platform);
  subscriptionRoutes(app, billing, db, hooks);
  internalRoutes(app, billing, db, hooks);
  await webhookRoutes(app, billing, provider);

  // Keys answer retries for a day (the Idempotency-Key header's documented window), then go.
  service.every(3_600_000, 'billing: pruning idempotency keys', () =>
    pruneIdempotencyKeys(db, clock.now() - IDEMPOTENCY_KEY_RETENTION_MS),
  );

  if (options.scheduler !== false) {
    let running = false;
    service.every(config.tickMs, 'billing: scheduler tick', async () => {
      // A slow tick (a provider outage) is not stacked on by the next one.
      if (running) return;
      running = true;
      try {
        await billing.tick();
      } finally {
        running = false;
      }
    });
  }

  const handle = await service.finish();
  return Object.assign(handle, { billing, provider, publisher });
}
