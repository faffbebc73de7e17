import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createAssertionSigner,
  type ErrorTracker,
  handleProbe,
  isProblemError,
  type Logger,
  Readiness,
  sendProblem,
  toProblem,
} from '@gatehouse/kit';
import type { Tracer } from '@opentelemetry/api';
import { AccessChecks } from './access/access-checks.ts';
import { AccessRuleTable } from './access/rules.ts';
import { accessSettingsSchema } from './access/schema.ts';
import { createAdminServer } from './admin/server.ts';
import { createClientErrorHandler } from './client-error.ts';
import type { GatewayConfig } from './config/schema.ts';
import { createContext, DONE, type RequestContext, type Stage } from './context.ts';
import { UserDirectory } from './identity/user-directory.ts';
import { TokenVerifier } from './identity/verifier.ts';
import { GatewayMetrics } from './metrics.ts';
import { createRateLimiting, RedisRateLimiter } from './ratelimit/index.ts';
import { RevocationFeed } from './revocation/feed.ts';
import { RevocationList } from './revocation/list.ts';
import { routeReport } from './route-report.ts';
import { ClientAddressResolver } from './routing/client-address.ts';
import { RouteTable } from './routing/route-table.ts';
import { buildPipeline } from './stages/index.ts';
import { securityHeaderDefaults } from './stages/security-headers.ts';
import { RequestTracing } from './tracing.ts';
import { type BreakerState, STATE_VALUE } from './upstream/breaker.ts';
import { CLIENT_GONE } from './upstream/proxy-handler.ts';
import { Upstreams } from './upstream/upstreams.ts';

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
  /**
   * Loads keys, starts the revocation feed and the access checkers, and connects the limiter's
   * Redis (what cannot be reached is reported by /ready, not thrown).
   */
  start(): Promise<void>;
  /** Closes pools and timers (servers are closed by the shutdown handler). */
  close(): Promise<void>;
}

/** Builds the gateway from a parsed config. Never listens: main.ts or a test does. */
export function createGateway(config: GatewayConfig, options: GatewayOptions): Gateway {
  const { logger } = options;
  const routes = new RouteTable(config);
  const verifier = new TokenVerifier(config.auth, logger);
  const metrics = new GatewayMetrics(config.metrics);
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
          onLookup: (result) => metrics.userLookups.inc({ result }),
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
      onCacheLookup: (result) => metrics.accessCacheLookups.inc({ result }),
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
  const stages = buildPipeline({
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
  });
  const exposeErrors = config.development?.exposeErrors === true;
  const logAccess = config.accessLog && logger.isLevelEnabled('info');
  // Access lines carry only fields the gateway chose (never a header, token or body): the
  // wildcard redaction every other line gets is skipped for them.
  const accessLogger = logger.child({}, { redact: [] });

  function answerError(ctx: RequestContext, err: unknown): void {
    if ((err as { code?: unknown } | null)?.code === CLIENT_GONE) return;
    if (!isProblemError(err)) {
      logger.error(
        { err, requestId: ctx.requestId, traceId: ctx.traceId },
        'unhandled error in the pipeline',
      );
      options.errors?.capture(err, {
        requestId: ctx.requestId,
        traceId: ctx.traceId,
        route: ctx.route?.id,
        method: ctx.method,
      });
    }
    const { res, req } = ctx;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const doc = toProblem(err, ctx.requestId || undefined, 'GW_INTERNAL');
    if (exposeErrors && !isProblemError(err)) doc.detail = (err as Error).message;
    const headers =
      isProblemError(err) && err.headers !== undefined
        ? { ...ctx.responseHeaders, ...err.headers }
        : ctx.responseHeaders;
    // An unread request body must not be parsed as the next request: close the connection.
    if (!req.complete) res.setHeader('connection', 'close');
    sendProblem(res, doc, headers);
  }

  function accessLog(ctx: RequestContext): void {
    const { res } = ctx;
    const seconds = (performance.now() - ctx.started) / 1000;
    const route = ctx.route?.id ?? 'unmatched';
    const status = res.writableFinished ? res.statusCode : 499;
    metrics.observe(ctx.method, route, status, seconds);
    metrics.inFlight.dec();
    tracing?.endServer(ctx, route, status);
    if (!logAccess) return;
    accessLogger.info(
      {
        requestId: ctx.requestId,
        traceId: ctx.traceId,
        method: ctx.method,
        route,
        upstream: ctx.route?.upstream.name,
        status,
        durationMs: Math.round(seconds * 100_000) / 100,
        upstreamMs: ctx.upstreamMs === undefined ? undefined : Math.round(ctx.upstreamMs * 100) / 100,
        userId: ctx.identity?.sub,
        tenantId: ctx.identity?.tid,
        clientIp: ctx.clientIp,
        reason: ctx.failure,
      },
      'request',
    );
  }

  async function run(ctx: RequestContext, pipeline: readonly Stage[]): Promise<void> {
    try {
      for (const stage of pipeline) {
        let result = stage(ctx);
        if (result !== undefined && typeof (result as Promise<unknown>).then === 'function') {
          result = await result;
          // The client may have left while this stage waited (a token, a lookup, Redis): stop here,
          // so nothing is sent upstream on behalf of a client that is gone.
          if (ctx.clientGone) return;
        }
        if (result === DONE) return;
      }
    } catch (err) {
      answerError(ctx, err);
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    if (readiness.shuttingDown) res.setHeader('connection', 'close');
    const url = req.url ?? '';
    if ((url === '/live' || url === '/ready') && handleProbe(readiness, req, res, url)) return;
    const ctx = createContext(req, res, started);
    metrics.inFlight.inc();
    res.once('close', () => {
      if (!res.writableFinished) {
        ctx.clientGone = true;
        ctx.onClientGone?.();
      }
      accessLog(ctx);
    });
    run(ctx, stages).catch((err: unknown) => {
      // answerError itself failed: nothing more can be said to this client.
      logger.error({ err, requestId: ctx.requestId, traceId: ctx.traceId }, 'answering an error failed');
      res.destroy();
    });
  }

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
    handle,
  );
  server.on('clientError', createClientErrorHandler(securityHeaderDefaults(config.securityHeaders)));

  const health = async () => ({
    status: (await readiness.evaluate()).status,
    configHash,
    tokens: verifier.status(),
    rateLimiter: rateLimiting.status(),
    revocations: feed?.status() ?? { off: 'no identity service configured', entries: revocations.size },
    access: access.status(),
    userLookups: users === undefined ? { off: true } : { cached: users.size, breaker: users.breaker.state },
    upstreams: [...upstreams.all()].map(({ config: u, guard }) => ({
      name: u.name,
      url: `${u.origin}${u.basePath}`,
      timeoutMs: u.timeoutMs,
      breaker: guard.breaker.state,
      inFlight: guard.inFlight,
      maxConcurrent: guard.maxConcurrent,
    })),
    process: { uptimeSeconds: Math.round(process.uptime()), memory: process.memoryUsage() },
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
      await Promise.all([upstreams.close(), rateLimiting.close(), feed?.stop(), access.stop()]);
    },
  };
}
