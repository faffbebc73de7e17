import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Readiness } from './health.ts';

export interface Resource {
  readonly name: string;
  close(): Promise<unknown> | unknown;
}

export interface ShutdownOptions {
  readonly logger: Logger;
  readonly servers: readonly Server[];
  readonly readiness?: Readiness;
  /** Closed in reverse order of the list, after the servers have drained. */
  readonly resources?: readonly Resource[];
  /** Everything must be done by then, or the process exits with 1. Default 30 s. */
  readonly deadlineMs?: number;
  /**
   * How long to keep accepting after /ready turned 503, so load balancers see it
   * before the listener goes away (Kubernetes endpoints take a few seconds).
   */
  readonly drainDelayMs?: number;
  readonly signals?: readonly NodeJS.Signals[];
  /** Called with the exit code; `process.exit` by default. */
  readonly exit?: (code: number) => void;
}

export interface ShutdownHandle {
  /** Starts the shutdown (once); resolves with the exit code. */
  shutdown(reason: string): Promise<number>;
  readonly stopping: boolean;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: readiness turns 503 at once, listeners
 * stop accepting, in-flight requests finish, idle keep-alive sockets are
 * closed, resources are closed, all within a deadline.
 */
export function installGracefulShutdown(options: ShutdownOptions): ShutdownHandle {
  const { logger, servers, readiness } = options;
  const resources = options.resources ?? [];
  const deadlineMs = options.deadlineMs ?? 30_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: Promise<number> | undefined;

  async function run(reason: string): Promise<number> {
    const started = Date.now();
    logger.info({ reason, deadlineMs }, 'shutdown: started, readiness now 503');
    readiness?.markShuttingDown();
    let timedOut = false;
    const deadline = new Promise<void>((resolve) =>
      setTimeout(() => {
        timedOut = true;
        resolve();
      }, deadlineMs).unref(),
    );
    let failed = false;
    if (options.drainDelayMs !== undefined && options.drainDelayMs > 0) {
      await Promise.race([sleep(options.drainDelayMs), deadline]);
    }
    const drained = Promise.all(servers.map((server) => closeServer(server)));
    await Promise.race([drained, deadline]);
    if (timedOut) {
      failed = true;
      logger.error({ elapsedMs: Date.now() - started }, 'shutdown: deadline reached with requests in flight');
      for (const server of servers) server.closeAllConnections();
    } else {
      logger.info({ elapsedMs: Date.now() - started }, 'shutdown: listeners closed, in-flight requests done');
    }
    for (const resource of [...resources].reverse()) {
      try {
        const closed = await Promise.race([
          Promise.resolve(resource.close()).then(() => true),
          deadline.then(() => false),
        ]);
        if (closed) logger.info({ resource: resource.name }, 'shutdown: closed');
        else {
          // Still closing at the deadline: the process exits anyway, and says so.
          failed = true;
          logger.error({ resource: resource.name }, 'shutdown: deadline reached before the resource closed');
        }
      } catch (err) {
        failed = true;
        logger.error({ err, resource: resource.name }, 'shutdown: resource failed to close');
      }
    }
    const code = failed ? 1 : 0;
    logger.info({ code, elapsedMs: Date.now() - started }, 'shutdown: done');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    return code;
  }

  const handle: ShutdownHandle = {
    shutdown(reason) {
      running ??= run(reason);
      return running;
    },
    get stopping() {
      return running !== undefined;
    },
  };

  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      handle.shutdown(signal).then(exit, () => exit(1));
    });
  }
  return handle;
}

/**
 * Stops accepting and waits for in-flight requests. Sockets that turn idle
 * after their last response are closed as they do, so keep-alive clients do
 * not hold the process open.
 */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
