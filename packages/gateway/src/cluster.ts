import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleProbe, type Logger, type ReadinessReport, writeJson } from '@gatehouse/kit';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';
import type { Gateway } from './app.ts';
import type { GatewayConfig } from './config/schema.ts';
import { routeReport } from './route-report.ts';
import { RouteTable } from './routing/route-table.ts';

/**
 * N gateway workers on one machine (node:cluster). Workers share the public
 * port and each runs the whole pipeline; the primary runs no pipeline: it
 * keeps the workers alive (a worker that dies is replaced), serves the admin
 * listener with metrics summed over the workers, and on SIGTERM lets every
 * worker drain before it exits. Limits are shared through Redis when
 * configured; without it each worker enforces 1/N of every limit.
 */

const ASK = 'gatehouse:ask';
const ANSWER = 'gatehouse:answer';
type Question = 'ready' | 'health';

interface AskMessage {
  type: typeof ASK;
  id: number;
  question: Question;
}
interface AnswerMessage {
  type: typeof ANSWER;
  id: number;
  answer: unknown;
}

/** In a worker: answer the primary's questions and hand it this worker's metrics. */
export function serveAsWorker(gateway: Gateway): void {
  new AggregatorRegistry<PrometheusContentType>(); // installs prom-client's IPC listener for metrics requests
  AggregatorRegistry.setRegistries([gateway.metrics.registry]);
  process.on('message', (message: AskMessage) => {
    if (message?.type !== ASK) return;
    const reply = (answer: unknown) =>
      process.send?.({ type: ANSWER, id: message.id, answer } satisfies AnswerMessage);
    if (message.question === 'ready')
      gateway.readiness.evaluate().then(reply, () => reply({ status: 'not_ready' }));
    else gateway.health().then(reply, () => reply({ status: 'unknown' }));
  });
}

/** Each worker's share of the limits when they cannot share them through Redis. */
export function perWorkerLimits(config: GatewayConfig, workers: number): GatewayConfig {
  if (workers <= 1 || config.rateLimits.redisUrl !== undefined) return config;
  const share = <T extends { limit: number; burst?: number | undefined }>(p: T): T => ({
    ...p,
    limit: Math.max(1, Math.ceil(p.limit / workers)),
    ...(p.burst === undefined ? {} : { burst: Math.max(1, Math.ceil(p.burst / workers)) }),
  });
  const tiers = config.rateLimits.tiers;
  return {
    ...config,
    rateLimits: {
      ...config.rateLimits,
      tiers: {
        anonymous: share(tiers.anonymous),
        free: share(tiers.free),
        standard: share(tiers.standard),
        premium: share(tiers.premium),
      },
    },
    routes: config.routes.map((r) =>
      r.rateLimit === undefined ? r : { ...r, rateLimit: share(r.rateLimit) },
    ),
  };
}

export interface PrimaryOptions {
  readonly workers: number;
  readonly config: GatewayConfig;
  readonly maskedConfig: unknown;
  readonly logger: Logger;
  readonly deadlineMs: number;
}

export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { logger, config, workers } = options;
  const aggregator = new AggregatorRegistry<PrometheusContentType>();
  const routes = routeReport(new RouteTable(config));
  let stopping = false;
  let nextId = 0;
  const pending = new Map<number, { answers: unknown[]; left: number; done: (a: unknown[]) => void }>();

  cluster.on('message', (_worker: Worker, message: AnswerMessage) => {
    if (message?.type !== ANSWER) return;
    const request = pending.get(message.id);
    if (request === undefined) return;
    request.answers.push(message.answer);
    if (--request.left === 0) request.done(request.answers);
  });

  function ask(question: Question): Promise<unknown[]> {
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
    if (alive.length === 0) return Promise.resolve([]);
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const request = pending.get(id);
        pending.delete(id);
        resolve(request?.answers ?? []);
      }, 1_500);
      pending.set(id, {
        answers: [],
        left: alive.length,
        done: (answers) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(answers);
        },
      });
      for (const worker of alive) worker.send({ type: ASK, id, question } satisfies AskMessage);
    });
  }

  function fork(): void {
    const worker = cluster.fork();
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ worker: worker.id, code, signal }, 'cluster: worker died, starting another');
      setTimeout(fork, 1_000).unref();
    });
  }
  for (let i = 0; i < workers; i++) fork();

  const admin = createAdminForCluster({
    workers,
    aggregator,
    ask,
    config: () => ({ workers, routes, config: options.maskedConfig }),
  });
  admin.listen(config.admin.port, config.admin.host);
  await once(admin, 'listening');
  const address = admin.address() as AddressInfo;
  logger.info({ workers, adminUrl: `http://${address.address}:${address.port}` }, 'cluster: primary up');

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'cluster: stopping workers');
    const all = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exits = all.map(
      (w) => new Promise<number>((resolve) => w.once('exit', (code) => resolve(code ?? 1))),
    );
    for (const worker of all) worker.process.kill('SIGTERM');
    const deadline = new Promise<number[]>((resolve) =>
      setTimeout(() => resolve([1]), options.deadlineMs + 5_000).unref(),
    );
    const codes = await Promise.race([Promise.all(exits), deadline]);
    admin.close();
    const code = codes.every((c) => c === 0) ? 0 : 1;
    logger.info({ code }, 'cluster: stopped');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(code);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop(signal));
}

interface ClusterAdminDeps {
  readonly workers: number;
  readonly aggregator: AggregatorRegistry<PrometheusContentType>;
  readonly ask: (question: Question) => Promise<unknown[]>;
  readonly config: () => unknown;
}

/** The admin listener of a cluster: the same paths as a single gateway's, answered for all workers. */
function createAdminForCluster(deps: ClusterAdminDeps): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method !== 'GET' && req.method !== 'HEAD') return writeJson(res, 405, { status: 405 });
    if (path === '/live')
      return void handleProbe(
        { evaluate: async () => ({ status: 'ready', checks: {} }) } as never,
        req,
        res,
        path,
      );
    if (path === '/ready') {
      deps.ask('ready').then((reports) => {
        const ready = (reports as ReadinessReport[]).filter(
          (r) => r.status === 'ready' || r.status === 'degraded',
        );
        const status = ready.length === 0 ? 'not_ready' : ready.length < deps.workers ? 'degraded' : 'ready';
        writeJson(res, status === 'not_ready' ? 503 : 200, {
          status,
          workers: deps.workers,
          workersReady: ready.length,
          reports,
        });
      });
      return;
    }
    if (path === '/health') {
      deps
        .ask('health')
        .then((docs) => writeJson(res, 200, { workers: deps.workers, alive: docs.length, perWorker: docs }));
      return;
    }
    if (path === '/metrics') {
      deps.aggregator.clusterMetrics().then(
        (text: string) => {
          res.writeHead(200, { 'content-type': deps.aggregator.contentType });
          res.end(text);
        },
        (err: Error) => writeJson(res, 500, { status: 500, title: err.message }),
      );
      return;
    }
    if (path === '/config') return writeJson(res, 200, deps.config());
    writeJson(res, 404, { status: 404, title: 'Not Found' });
  });
}
