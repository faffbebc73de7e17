import { join } from 'node:path';
import type { Logger, ServiceBuildOptions, ServiceHandle, ServiceParts } from '@gatehouse/kit/service';
import { startService } from '@gatehouse/kit/service';
import type { Redis } from 'ioredis';
import type { ChatConfig } from './config.ts';
import { pruneKeys } from './db/idempotency.ts';
import { billingEntitlements } from './domain/billing-entitlements.ts';
import {
  DatabaseQuota,
  type EntitlementSource,
  memoryCounter,
  memoryEntitlements,
  type QuotaCounter,
  RECORD_TTL_MS,
  redisCounter,
  redisEntitlements,
  type SendCounter,
  SendLimits,
} from './domain/limits.ts';
import type { ChatServices } from './domain/services.ts';
import { type EventBus, LocalBus, RedisBus } from './realtime/bus.ts';
import { Hub } from './realtime/hub.ts';
import { RevocationFeed } from './realtime/revocation-feed.ts';
import { attachSocketServer } from './realtime/socket-server.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { registerDocs } from './routes/docs.ts';
import { messageRoutes } from './routes/messages.ts';
import { type BillingUsage, httpBillingUsage } from './usage/billing-usage.ts';
import { BillingQuota } from './usage/quota.ts';
import { NO_USAGE_METER, type UsageMeter, UsageReporter } from './usage/reporter.ts';

export { type ChatConfig, loadConfig } from './config.ts';

export const MIGRATIONS_DIR = join(import.meta.dirname, 'db', 'migrations');

export interface ChatApp extends ServiceHandle {
  readonly services: ChatServices;
  readonly hub: Hub;
}

export interface ChatBuildOptions extends ServiceBuildOptions {
  /** Entitlement records (tests); otherwise billing's hashes in Redis, else billing's HTTP API, else free. */
  readonly entitlements?: EntitlementSource;
  /** Billing's usage API (tests); with `config.usage` set, its HTTP API otherwise. */
  readonly billingUsage?: BillingUsage;
}

/** Builds the chat service from a config object on kit's service template. Never listens (main.ts does). */
export async function buildApp(config: ChatConfig, options: ChatBuildOptions = {}): Promise<ChatApp> {
  const service = await startService(
    // A request holds at most one message body (16 KiB by default) and a little JSON around it.
    {
      name: 'chat',
      prefix: 'CHAT',
      migrationsDir: MIGRATIONS_DIR,
      bodyLimit: config.maxMessageBytes * 4 + 4096,
    },
    config,
    options,
  );
  const { app, db, logger, readiness, metrics } = service;

  const { usage, quota } = usageReporting(config, options, service);

  let bus: EventBus;
  let counter: SendCounter;
  let redis: Redis | undefined;
  if (config.redisUrl !== undefined) {
    const redisBus = new RedisBus(config.redisUrl, logger);
    bus = redisBus;
    redis = redisBus.commands;
    counter = redisCounter(redis);
    // Without Redis this instance still serves its own sockets; others catch up when it is back.
    readiness.register('redis', () => redisBus.ready, { critical: false });
  } else {
    bus = new LocalBus();
    counter = memoryCounter();
  }
  const limits = new SendLimits({
    logger,
    quota,
    counter,
    ...entitlementSource(config, options, redis, logger),
  });
  service.onClose('event bus', () => bus.close());

  const services: ChatServices = { config, db, logger, bus, limits, usage };
  const hub = new Hub({
    logger,
    metrics,
    maxBufferedBytes: config.ws.maxBufferedBytes,
    pingSeconds: config.ws.pingSeconds,
  });
  bus.listen({
    event: (fanout) => hub.deliver(fanout),
    resync: () => hub.resync(),
    revocation: (event) => hub.revoke(event),
    entitlementChanged: (tenantId) => limits.invalidate(tenantId),
  });

  followRevocations(config, service, hub);

  await registerDocs(app, config, service.hooks.platform);
  conversationRoutes(app, services, service.hooks);
  messageRoutes(app, services, service.hooks);
  const sockets = attachSocketServer(app, services, hub, service.hooks.verifier, logger);
  // Sockets are closed (1001: reconnect elsewhere, catch up) before the listener drains, or it never would.
  app.addHook('preClose', async () => sockets.close());
  service.onBeforeShutdown(() => sockets.close());
  service.every(60 * 60_000, 'pruning idempotency keys', () => pruneKeys(db));

  const handle = await service.finish();
  return { ...handle, services, hub };
}

/**
 * Where a tenant's plan comes from. With Redis: billing's hash, its
 * announcement drops a changed record at once. Without Redis but with
 * `CHAT_BILLING_URL`: billing's internal endpoint, and as nothing announces a
 * change, a record is used for 5 s only (a plan change takes that long to
 * apply) and a send waits at most 250 ms for a read. With neither: the free
 * plan for every tenant, said at start-up.
 */
function entitlementSource(
  config: ChatConfig,
  options: ChatBuildOptions,
  redis: Redis | undefined,
  logger: Logger,
): { source: EntitlementSource; recordTtlMs?: number; readBudgetMs?: number } {
  if (options.entitlements !== undefined) return { source: options.entitlements };
  if (redis !== undefined) {
    logger.info(
      "entitlements: billing's records in Redis (entitlement:<tenantId>); a change applies when billing announces it",
    );
    return { source: redisEntitlements(redis), recordTtlMs: RECORD_TTL_MS.announced };
  }
  if (config.billingUrl !== undefined) {
    logger.info(
      { billingUrl: config.billingUrl, cacheMs: RECORD_TTL_MS.polled },
      `entitlements: read from billing's internal API (no Redis); a plan change applies within ${RECORD_TTL_MS.polled / 1000} s`,
    );
    return {
      source: billingEntitlements({ url: config.billingUrl, assertionKeys: config.assertionKeys }),
      recordTtlMs: RECORD_TTL_MS.polled,
      readBudgetMs: 250,
    };
  }
  (config.production ? logger.warn : logger.info).call(
    logger,
    "entitlements: neither REDIS_URL nor CHAT_BILLING_URL is set: every tenant gets the free plan's limits, whatever its plan in billing",
  );
  return { source: memoryEntitlements() };
}

/**
 * With `CHAT_BILLING_URL`: messages are reported to billing and the quota is
 * checked against billing's count (chat's own count while billing's is not to
 * be had). Without it: nothing is reported and chat's own count decides.
 */
function usageReporting(
  config: ChatConfig,
  options: ChatBuildOptions,
  service: ServiceParts,
): { usage: UsageMeter; quota: QuotaCounter } {
  const { db, logger, metrics, readiness } = service;
  const own = new DatabaseQuota(db);
  const { billingUrl } = config;
  if (config.usage === undefined || billingUrl === undefined) {
    (config.production ? logger.warn : logger.info).call(
      logger,
      "usage reporting: off (CHAT_BILLING_URL is not set): billing shows no messages; the quota is counted from chat's own database",
    );
    return { usage: NO_USAGE_METER, quota: own };
  }
  const billing =
    options.billingUsage ?? httpBillingUsage({ url: billingUrl, assertionKeys: config.assertionKeys });
  const reporter: UsageReporter = new UsageReporter({
    billing,
    logger,
    metrics,
    flushMs: config.usage.flushMs,
    onCounted: (usage) => quota.learn(usage),
  });
  const quota = new BillingQuota({ billing, meter: reporter, fallback: own, logger });
  reporter.start();
  // After the listener drained, so every accepted send is in the last batch.
  service.onClose('usage reporter', () => reporter.close());
  readiness.register('billing usage reports', () => reporter.healthy, { critical: false });
  logger.info(
    { billingUrl, flushMs: config.usage.flushMs },
    "usage reporting: on; messages per tenant go to billing, and the quota is checked against billing's count",
  );
  return { usage: reporter, quota };
}

/**
 * Revocations reach this instance's sockets through Redis (`gatehouse:revocations`, see the
 * bus) and, with `CHAT_AUTH_URL`, through the identity service's feed, which needs no Redis.
 */
function followRevocations(config: ChatConfig, service: ServiceParts, hub: Hub): void {
  const { logger, readiness } = service;
  if (config.authUrl === undefined) {
    if (config.redisUrl === undefined)
      logger.warn(
        "revocations: neither REDIS_URL nor CHAT_AUTH_URL is set: a revoked user's sockets stay open until the token expires (the gateway still cuts its tunnel)",
      );
    return;
  }
  const feed = new RevocationFeed({
    url: config.authUrl,
    assertionKeys: config.assertionKeys,
    logger,
    onEvent: (event) => hub.revoke(event),
  });
  feed.start();
  service.onClose('revocation feed', () => feed.stop());
  readiness.register('revocation feed', () => feed.synced, { critical: false });
}
