import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import {
  createAssertionSigner,
  type ErrorTracker,
  type Logger,
  lineWriterOf,
  Readiness,
} from '@gatehouse/kit';
import type { Tracer } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { AccessChecks } from './access/access-checks.ts';
import { AccessRuleTable } from './access/rules.ts';
import { accessSettingsSchema } from './access/schema.ts';
import { createAdminServer } from './admin/server.ts';
import { createClientErrorHandler } from './client-error.ts';
import type { GatewayConfig } from './config/schema.ts';
import { createHealthDocument } from './health.ts';
import { UserDirectory } from './identity/user-directory.ts';
import { TokenVerifier } from './identity/verifier.ts';
import { GatewayMetrics } from './metrics.ts';
import { createAccessLog } from './pipeline/access-log.ts';
import { createRequestHandler } from './pipeline/handle-request.ts';
import { createUpgradeHandler } from './pipeline/handle-upgrade.ts';
import { createRunner } from './pipeline/run.ts';
import { createRateLimiting, RedisRateLimiter } from './ratelimit/index.ts';
import { type BreakerState, STATE_VALUE } from './resilience/breaker.ts';
import { RevocationFeed } from './revocation/feed.ts';
import { RevocationList } from './revocation/list.ts';
import { routeReport } from './route-report.ts';
import { ClientAddressResolver } from './routing/client-address.ts';
import { RouteTable } from './routing/route-table.ts';
import { buildPipelines } from './stages/index.ts';
import { securityHeaderDefaults } from './stages/security-headers.ts';
import { RequestTracing } from './tracing.ts';
import { Upstreams } from './upstream/upstreams.ts';
import { memoryTicketStore, redisTicketStore, type TicketStore, Tickets } from './websocket/tickets.ts';
import { TunnelRegistry } from './websocket/tunnels.ts';

export { loadGatewayConfig, loadGatewayConfigFile } from './config/load.ts';
export type { GatewayConfig } from './config/schema.ts';

export interface GatewayOptions {
  readonly logger: Logger;
  /** The effective config with secrets masked (shown on /config). Defaults to the route table only. */
  readonly maskedConfig?: unknown;
  /**
   * Spans, when exported (kit's startTracing with callerSamplesNewTraces): the tracer and the
   * share of new traces to record. None: no spans, trace context still flows.
   */
  readonly tracing?: { readonly tracer: Tracer; readonly sampleRatio: number } | undefined;
  /** Unexpected pipeline errors are reported here (kit's startErrorTracking). */
  readonly errors?: ErrorTracker;
}

export interface Gateway {
  /** The public listener's server (not listening yet). */
  readonly server: Server;
  /** The admin listener's server (not listening yet). */
  readonly admin: Server;
  readonly readiness: Readiness;
  readonly metrics: GatewayMetrics;
  readonly routes: RouteTable;
  readonly verifier: TokenVerifier;
  readonly configHash: string;
  /** The detailed health document (/health): dependencies, breakers, caches, config hash. */
  health(): Promise<unknown>;
  /** Open WebSocket tunnels of this process. */
  readonly tunnels: TunnelRegistry;
  /**
   * Shutdown: refuse new upgrades, let open tunnels run until `websockets.drainDeadlineMs`, then
   * close them (so the listener's close, which waits for every connection, can finish).
   */
  drainTunnels(): Promise<void>;
  /**
   * Loads keys, starts the revocation feed and the access checkers, and connects the limiter's
   * Redis (what cannot be reached is reported by /ready, not thrown).
   */
  start(): Promise<void>;
  /** Closes pools and timers (servers are closed by the shutdown handler). */
  close(): Promise<void>;
}

/**
 * Tickets live in the shared Redis (the rate limiter's, else the revocation channel's) so any
 * instance can redeem what another minted; without Redis, in this process.
 */
function ticketStore(config: GatewayConfig): TicketStore {
  const url = config.rateLimits.redisUrl ?? config.identity?.redisUrl;
  if (url === undefined) return memoryTicketStore();
  return redisTicketStore(
    new Redis(url, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      lazyConnect: false,
    }),
  );
}

/** Builds the gateway from a parsed config. Never listens: main.ts or a test does. */
export function createGateway(config: GatewayConfig, options: GatewayOptions): Gateway {
  const { logger } = options;
  const routes = new RouteTable(config);
  const verifier = new TokenVerifier(config.auth, logger);
  const metrics = new GatewayMetrics(config.metrics);
  const logWriter = lineWriterOf(logger);
  if (logWriter !== undefined) metrics.watchLogDrops(() => logWriter.dropped);
  // Every breaker (upstreams, the identity service, access checkers) reports the same way.
  function breakerChanged(service: string, state: BreakerState, previous: BreakerState): void {
    metrics.breakerState.set({ service }, STATE_VALUE[state]);
    const level = state === 'open' ? 'warn' : 'info';
    logger[level](
      { event: 'circuit_breaker', upstream: service, state, previous },
      `circuit breaker ${state}`,
    );
  }
  const upstreams = new Upstreams(routes.upstreams.values(), breakerChanged);
  for (const name of routes.upstreams.keys()) metrics.breakerState.set({ service: name }, 0);
  const rateLimiting = createRateLimiting(config.rateLimits, {
    onDegraded: (reason) => {
      metrics.limiterFallbacks.inc({ reason });
      metrics.limiterDegraded.set(1);
    },
    onTierError: () => metrics.tierLookupErrors.inc(),
    assertionKeys: config.assertion.keys,
  });
  const lookups = config.identity?.userLookup;
  const users =
    config.identity === undefined || lookups?.enabled !== true
      ? undefined
      : new UserDirectory({
          identityUrl: config.identity.url,
          assertionKeys: config.assertion.keys,
          logger,
          cacheMs: lookups.cacheSeconds * 1000,
          staleMs: lookups.staleSeconds * 1000,
          timeoutMs: lookups.timeoutMs,
          maxEntries: lookups.maxEntries,
          onLookup: (result) => metrics.userLookups.series({ result }).inc(),
          onBreakerChange: (state, previous) => breakerChanged('identity', state, previous),
        });
  const revocations = new RevocationList(
    config.auth.maxTokenLifetimeSeconds + config.auth.clockToleranceSeconds,
  );
  const feed =
    config.identity === undefined
      ? undefined
      : new RevocationFeed({
          identityUrl: config.identity.url,
          assertionKeys: config.assertion.keys,
          list: revocations,
          logger,
          waitMs: config.identity.revocationWaitMs,
          redisUrl: config.identity.redisUrl,
          onEvents: (count, source) => metrics.revocationEvents.inc({ source }, count),
          onEvent: (event) => {
            if (event.type === 'user') users?.invalidate({ sub: event.sub });
            else if (event.type === 'tenant') users?.invalidate({ tid: event.tid });
            // A tunnel never outlives its token: the event reaches every instance (feed or Redis).
            tunnels.closeRevoked();
          },
        });
  const accessRules = new AccessRuleTable(config.routes);
  const access = new AccessChecks({
    settings: config.access ?? accessSettingsSchema.parse({ checkers: {} }),
    assertionKeys: config.assertion.keys,
    logger,
    hooks: {
      onDecision: (checker, reason) =>
        metrics.accessDecisions.inc({ checker, result: reason === 'allowed' ? 'allowed' : 'denied', reason }),
      onCacheLookup: (result) => metrics.accessCacheLookups.series({ result }).inc(),
      onCheckerCall: (checker, reason, seconds) => metrics.downstream(`access:${checker}`, reason, seconds),
      onBreakerChange: (checker, state, previous) => breakerChanged(`access:${checker}`, state, previous),
      onInvalidation: (source) => metrics.accessInvalidations.inc({ source }),
    },
  });
  for (const name of access.checkerNames) metrics.breakerState.set({ service: `access:${name}` }, 0);
  metrics.watchDependencies([
    ...(feed === undefined
      ? []
      : [['identity', () => feed.synced && feed.status().lastError === null] as const]),
    ...(rateLimiting.status().backend === 'redis'
      ? [['redis', () => !rateLimiting.status().degraded] as const]
      : []),
  ]);
  const readiness = new Readiness();
  if (feed !== undefined) {
    // Not ready until the first sync: before it, the gateway cannot know which tokens were revoked.
    readiness.register('revocations', () => ({
      ok: feed.synced,
      detail: feed.synced ? 'synced' : 'not synced yet',
    }));
  }
  // Degraded, not unready: with Redis down the limiter still limits, locally.
  readiness.register(
    'rate-limit',
    () => {
      const status = rateLimiting.status();
      metrics.limiterDegraded.set(status.degraded ? 1 : 0);
      return {
        ok: true,
        degraded: status.degraded,
        detail: `${status.backend}${status.degraded ? ', local fallback' : ''}`,
      };
    },
    { critical: false },
  );
  readiness.register('signing-keys', () => ({
    ok: verifier.usable,
    detail: verifier.usable ? 'loaded' : 'no usable key',
  }));
  const configHash = createHash('sha256')
    .update(JSON.stringify(options.maskedConfig ?? routeReport(routes)))
    .digest('hex');

  const tracing =
    options.tracing === undefined
      ? undefined
      : new RequestTracing(options.tracing.tracer, options.tracing.sampleRatio);
  const tickets = new Tickets(ticketStore(config), config.websockets.tickets.ttlSeconds);
  const tunnels = new TunnelRegistry({
    config: config.websockets,
    metrics,
    logger,
    tiers: rateLimiting.tiers,
    revocations,
  });
  const pipelines = buildPipelines({
    tracing,
    config,
    logger,
    routes,
    verifier,
    clientAddress: new ClientAddressResolver(config.trustedProxies),
    sign: createAssertionSigner(config.assertion.keys),
    upstreams,
    metrics,
    rateLimiting,
    revocations,
    users,
    access,
    accessRules,
    onFailure: (reason) => metrics.authFailures.inc({ reason }),
    tickets,
    tunnels,
  });
  const run = createRunner({
    logger,
    errors: options.errors,
    exposeErrors: config.development?.exposeErrors === true,
  });
  const accessLog = createAccessLog({ logger, metrics, tracing, enabled: config.accessLog });
  const securityHeaders = securityHeaderDefaults(config.securityHeaders);

  const server = createServer(
    {
      maxHeaderSize: config.limits.maxHeaderBytes,
      headersTimeout: config.limits.headersTimeoutMs,
      requestTimeout: config.limits.requestTimeoutMs,
      keepAliveTimeout: config.limits.keepAliveTimeoutMs,
      // How often Node checks headersTimeout/requestTimeout (30 s by default, far
      // coarser than the limits themselves): slow clients are cut on time.
      connectionsCheckingInterval: 1_000,
      requireHostHeader: true,
      joinDuplicateHeaders: false,
    },
    createRequestHandler({ readiness, metrics, run, pipeline: pipelines.request, accessLog }),
  );
  server.on(
    'upgrade',
    createUpgradeHandler({
      readiness,
      metrics,
      run,
      pipeline: pipelines.upgrade,
      accessLog,
      tunnels,
      securityHeaders,
    }),
  );
  server.on('clientError', createClientErrorHandler(securityHeaders));

  const health = createHealthDocument({
    readiness,
    configHash,
    verifier,
    rateLimiting,
    feed,
    revocations,
    access,
    users,
    upstreams,
    tunnels: () => ({ ...tunnels.status(), tickets: tickets.backend }),
  });

  const admin = createAdminServer({
    readiness,
    metrics,
    config: () => ({ configHash, routes: routeReport(routes), config: options.maskedConfig }),
    health,
  });

  return {
    server,
    admin,
    readiness,
    metrics,
    routes,
    verifier,
    configHash,
    health,
    tunnels,
    drainTunnels: () => tunnels.drain(),
    async start() {
      if (feed === undefined) {
        logger.warn('no identity service configured: tokens are not checked for revocation');
      }
      // Redis for the limits is connected before the first request, so no burst at start is decided locally.
      const limiter = rateLimiting.limiter;
      access.start();
      await Promise.all([
        verifier.start(),
        feed?.start(),
        limiter instanceof RedisRateLimiter ? limiter.ready(2_000) : undefined,
      ]);
    },
    async close() {
      verifier.stop();
      await Promise.all([
        upstreams.close(),
        rateLimiting.close(),
        feed?.stop(),
        access.stop(),
        tickets.close(),
      ]);
    },
  };
}
