import type { BaseTransportOptions, ErrorEvent, Transport, TransportMakeRequestResponse } from '@sentry/core';
import type { ServerRuntimeClientOptions } from '@sentry/core/server';
import type { Logger } from './logger.ts';
import type { TelemetryConfig } from './telemetry-config.ts';

/** What is known about the request an error happened in; every field becomes a tag. */
export interface ErrorContext {
  requestId?: string;
  traceId?: string;
  route?: string;
  method?: string;
  status?: number;
  /** Opaque ids, sent only when set. */
  tenantId?: string;
  userId?: string;
}

export interface ErrorTracker {
  /** Errors are sent to Sentry (SENTRY_DSN is set). */
  readonly enabled: boolean;
  /** Reports an unexpected error. Never throws; 4xx problems are ignored. */
  capture(err: unknown, context?: ErrorContext): void;
  /** Sends what is queued, waiting at most `timeoutMs` (default 2 s), and stops. Never rejects. */
  close(timeoutMs?: number): Promise<void>;
}

/** The tracker of a process without SENTRY_DSN: does nothing, loads nothing. */
export const noErrorTracking: ErrorTracker = Object.freeze({
  enabled: false,
  capture(): void {},
  async close(): Promise<void> {},
});

const CONTEXT_TAGS = ['requestId', 'traceId', 'route', 'method', 'status', 'tenantId', 'userId'] as const;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SEND_TIMEOUT_MS = 10_000;

/** A numeric `status`/`statusCode` below 500 (or a context status below 500) marks an expected problem. */
function isClientProblem(err: unknown, context: ErrorContext | undefined): boolean {
  if (context?.status !== undefined && context.status < 500) return true;
  if (typeof err !== 'object' || err === null) return false;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  return typeof code === 'number' && code < 500;
}

/**
 * Keeps only the exception, the tags and the runtime: whatever a request, a user or a
 * breadcrumb might carry (headers, cookies, bodies, query strings, addresses) never leaves.
 */
export function scrubSentryEvent(event: ErrorEvent): ErrorEvent {
  delete event.request;
  delete event.user;
  delete event.breadcrumbs;
  delete event.extra;
  return event;
}

/**
 * Error tracking for one process. With SENTRY_DSN, unexpected errors (never 4xx problems) are
 * sent to Sentry with the service, environment and release and the request's ids as tags, and
 * nothing of the request itself. Without it, `noErrorTracking` is returned and the Sentry SDK
 * is never loaded.
 *
 * The SDK used is `@sentry/core`'s server client with a fetch transport: no OpenTelemetry set-up,
 * no global scope, no instrumentation of any module (our tracing is our own).
 */
export async function startErrorTracking(config: TelemetryConfig, logger: Logger): Promise<ErrorTracker> {
  const { dsn, environment, release } = config.sentry;
  if (dsn === undefined) return noErrorTracking;
  const [core, server] = await Promise.all([import('@sentry/core'), import('@sentry/core/server')]);
  const parsedDsn = core.makeDsn(dsn);
  if (parsedDsn === undefined) {
    logger.error(
      { event: 'error_tracking' },
      'error tracking: SENTRY_DSN is not a Sentry DSN (https://KEY@HOST/PROJECT); errors are not sent',
    );
    return noErrorTracking;
  }

  let warned = false;
  const warnOnce = (reason: string): void => {
    if (warned) return;
    warned = true;
    logger.warn({ event: 'error_tracking', reason }, 'error tracking: events could not be sent to Sentry');
  };

  const transport = (options: BaseTransportOptions): Transport =>
    core.createTransport(options, async (request): Promise<TransportMakeRequestResponse> => {
      try {
        const res = await fetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-sentry-envelope', ...options.headers },
          body: request.body as string,
          signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        });
        await res.body?.cancel();
        if (res.status >= 400 && res.status !== 429) warnOnce(`Sentry answered ${res.status}`);
        return {
          statusCode: res.status,
          headers: {
            'x-sentry-rate-limits': res.headers.get('x-sentry-rate-limits'),
            'retry-after': res.headers.get('retry-after'),
          },
        };
      } catch (err) {
        warnOnce(
          (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : String(err),
        );
        throw err;
      }
    });

  const options: ServerRuntimeClientOptions = {
    dsn,
    environment,
    release,
    platform: 'node',
    runtime: { name: 'node', version: process.version },
    transport,
    stackParser: core.createStackParser(server.nodeStackLineParser()),
    // An error's `cause` chain is reported with it; nothing else is added to an event.
    integrations: [core.linkedErrorsIntegration()],
    // No PII: no user, cookies, headers, bodies or query strings are collected (our beforeSend
    // also drops the request, the user and breadcrumbs, should anything add them).
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      urlQueryParams: false,
      databaseQueryData: false,
      stackFrameVariables: false,
      frameContextLines: 0,
    },
    // Errors only: no spans (tracing is OpenTelemetry's), no sessions, no client reports.
    traceLifecycle: 'static',
    sendClientReports: false,
    maxBreadcrumbs: 0,
    beforeSend: scrubSentryEvent,
  };
  core.applySdkMetadata(options, 'core');
  const client = new server.ServerRuntimeClient(options);
  client.init();
  logger.info(
    { event: 'error_tracking', host: parsedDsn.host, environment, release },
    'error tracking: unexpected errors are sent to Sentry',
  );

  let closed = false;
  return {
    enabled: true,
    capture(err, context) {
      if (closed || isClientProblem(err, context)) return;
      try {
        const scope = new core.Scope();
        scope.setLevel('error');
        scope.setTag('service', config.service);
        for (const key of CONTEXT_TAGS) {
          const value = context?.[key];
          if (value !== undefined && value !== '') scope.setTag(key, String(value));
        }
        // The event joins the request's trace (OpenTelemetry and Sentry share the id format).
        if (context?.traceId !== undefined && TRACE_ID.test(context.traceId)) {
          scope.setPropagationContext({ traceId: context.traceId, sampleRand: Math.random() });
        }
        const hint = { originalException: err, mechanism: { type: 'gatehouse', handled: true } };
        client.captureException(err, hint, scope);
      } catch (captureErr) {
        warnOnce(`capture failed: ${(captureErr as Error)?.message ?? String(captureErr)}`);
      }
    },
    async close(timeoutMs = 2_000) {
      if (closed) return;
      closed = true;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs + 100);
        timer.unref();
      });
      const flushed = Promise.resolve(client.close(timeoutMs)).then(
        (done) => {
          if (!done) warnOnce('events still queued when closing');
        },
        (err: unknown) => warnOnce(`close failed: ${(err as Error)?.message ?? String(err)}`),
      );
      await Promise.race([flushed, deadline]);
      clearTimeout(timer);
    },
  };
}
