import type { FastifyInstance } from 'fastify';
import { type AssertionKey, type AssertionVerifier, createAssertionVerifier } from '../assertion.ts';
import { type Database, type DatabaseConfig, openDatabase, runMigrations } from '../db/index.ts';
import type { ErrorTracker } from '../error-tracking.ts';
import { Readiness } from '../health.ts';
import { createLogger, type Logger, type LogLevel } from '../logger.ts';
import { createMetricsRegistry, type Registry } from '../metrics.ts';
import { createServiceApp } from './app.ts';
import { type IdentityHook, requireIdentity, requirePlatformService } from './identity.ts';

/** What every service's config has, whatever else it holds (see `baseServiceConfig`). */
export interface ServiceBaseConfig {
  readonly production: boolean;
  readonly logLevel: LogLevel;
  readonly database: DatabaseConfig;
  readonly assertionKeys: readonly AssertionKey[];
  readonly trustedProxies: readonly string[];
}

export interface ServiceBuildOptions {
  readonly logger?: Logger;
  /** An already-open database (tests share one); otherwise opened from the config. */
  readonly database?: Database;
  /** Where unexpected errors (500s) are reported (startErrorTracking); none by default. */
  readonly errors?: ErrorTracker;
}

export interface ServiceSpec {
  /** `auth`, `chat` …: the logger's and the metrics' service name. */
  readonly name: string;
  /** Error code prefix: `AUTH` gives `AUTH_VALIDATION` … */
  readonly prefix: string;
  /** The service's `src/db/migrations`; applied at start, before any route is served. */
  readonly migrationsDir: string;
  readonly bodyLimit?: number;
}

/** The signed-identity checks, bound to the service's keys and error prefix. */
export interface ServiceHooks {
  /** A user's identity from the gateway assertion. */
  readonly user: IdentityHook;
  /** The gateway or a platform service. */
  readonly platform: IdentityHook;
  readonly verifier: AssertionVerifier;
}

/**
 * One running service's parts, handed to its `buildApp` to add routes, timers
 * and resources; `finish()` returns what main.ts and tests hold.
 */
export interface ServiceParts {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly logger: Logger;
  readonly readiness: Readiness;
  readonly metrics: Registry;
  readonly hooks: ServiceHooks;
  /** Runs `task` every `ms` (unref'd, stopped at close); a failure is logged as `what failed`, never thrown. */
  every(ms: number, what: string, task: () => Promise<unknown> | unknown): void;
  /** Closed at `closeResources`, in reverse order of registration, before the database. */
  onClose(name: string, close: () => Promise<unknown> | unknown): void;
  /**
   * Runs as soon as shutdown starts, before the listener drains: for
   * long-lived connections (WebSockets) that would otherwise hold it open.
   */
  onBeforeShutdown(fn: () => void): void;
  /** `app.ready()`, then the handle main.ts and tests use. */
  finish(): Promise<ServiceHandle>;
}

export interface ServiceHandle {
  readonly app: FastifyInstance;
  readonly readiness: Readiness;
  readonly db: Database;
  /** Shutdown started (SIGTERM): end long-lived connections so the listener can drain. */
  beforeShutdown(): void;
  /** Stops timers and closes resources and the database (after the listener has drained). */
  closeResources(): Promise<void>;
  /** For tests: the app, then its resources. */
  close(): Promise<void>;
}

/**
 * The service template: opens the database (unless given one), applies the
 * migrations, makes the logger, readiness (the database is a critical
 * dependency), metrics, the Fastify app with problem+json errors and probes,
 * and the identity hooks. The service adds its routes → domain → db and calls
 * `finish()`.
 */
export async function startService(
  spec: ServiceSpec,
  config: ServiceBaseConfig,
  options: ServiceBuildOptions = {},
): Promise<ServiceParts> {
  const logger = options.logger ?? createLogger({ service: spec.name, level: config.logLevel });
  const ownDb = options.database === undefined;
  const db = options.database ?? (await openDatabase(config.database));
  const closers: { name: string; close: () => Promise<unknown> | unknown }[] = [];
  const timers: NodeJS.Timeout[] = [];
  const beforeShutdown: (() => void)[] = [];
  let closed = false;

  async function closeResources(): Promise<void> {
    if (closed) return;
    closed = true;
    for (const t of timers) clearInterval(t);
    for (const { name, close } of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err, resource: name }, 'closing a resource failed');
      }
    }
    if (ownDb) await db.close();
  }

  try {
    const migrated = await runMigrations(db, spec.migrationsDir);
    if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');
  } catch (err) {
    if (ownDb) await db.close();
    throw err;
  }

  const readiness = new Readiness();
  readiness.register('database', () => db.ping(), { timeoutMs: 1000 });
  const metrics = createMetricsRegistry(spec.name);
  const app = createServiceApp({
    prefix: spec.prefix,
    logger,
    readiness,
    metrics,
    trustProxy: [...config.trustedProxies],
    errors: options.errors,
    ...(spec.bodyLimit === undefined ? {} : { bodyLimit: spec.bodyLimit }),
  });
  const verifier = createAssertionVerifier(config.assertionKeys);
  const hooks: ServiceHooks = {
    user: requireIdentity(verifier, spec.prefix),
    platform: requirePlatformService(verifier, spec.prefix),
    verifier,
  };

  const handle: ServiceHandle = {
    app,
    readiness,
    db,
    beforeShutdown() {
      for (const fn of beforeShutdown) {
        try {
          fn();
        } catch (err) {
          logger.warn({ err }, 'before-shutdown step failed');
        }
      }
    },
    closeResources,
    async close() {
      await app.close();
      await closeResources();
    },
  };
  return {
    app,
    db,
    logger,
    readiness,
    metrics,
    hooks,
    every(ms, what, task) {
      const timer = setInterval(() => {
        try {
          Promise.resolve(task()).catch((err: unknown) => logger.warn({ err }, `${what} failed`));
        } catch (err) {
          logger.warn({ err }, `${what} failed`);
        }
      }, ms);
      timer.unref();
      timers.push(timer);
    },
    onClose(name, close) {
      closers.push({ name, close });
    },
    onBeforeShutdown(fn) {
      beforeShutdown.push(fn);
    },
    async finish() {
      try {
        await app.ready();
      } catch (err) {
        await closeResources();
        throw err;
      }
      return handle;
    },
  };
}
