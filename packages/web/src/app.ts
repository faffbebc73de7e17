import {
  createLogger,
  createMetricsRegistry,
  createServiceApp,
  type ErrorTracker,
  type Logger,
  Readiness,
} from '@gatehouse/kit/service';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebConfig } from './config.ts';
import { webError } from './errors.ts';
import { chooseEncoding, loadStaticFiles, type StaticFile } from './static-files.ts';

export { loadConfig, type WebConfig } from './config.ts';

export interface WebApp {
  readonly app: FastifyInstance;
  readonly readiness: Readiness;
  close(): Promise<void>;
}

export interface BuildOptions {
  readonly logger?: Logger;
  readonly errors?: ErrorTracker;
}

/**
 * A page route of the single-page app: no file extension in the last segment,
 * and not under /api (an unknown API path must never get the app's HTML; the
 * gateway refuses it first, this is the second line).
 */
export function isPageRoute(path: string): boolean {
  if (path === '/api' || path.startsWith('/api/')) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !last.includes('.');
}

function send(req: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  reply
    .header('content-type', file.type)
    .header('cache-control', file.cacheControl)
    .header('etag', file.etag)
    .header('x-content-type-options', 'nosniff');
  if (file.gzip !== undefined) reply.header('vary', 'accept-encoding');
  if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const encoding = chooseEncoding(file, req.headers['accept-encoding']);
  const body = encoding === 'br' ? file.br : encoding === 'gzip' ? file.gzip : file.identity;
  if (encoding !== undefined) reply.header('content-encoding', encoding);
  return reply.header('content-length', (body as Buffer).length).send(body);
}

/**
 * The web app's server: the built files from memory, `index.html` for page
 * routes (the app routes in the browser), `/live`, `/ready`, `/metrics` from
 * kit. The Content-Security-Policy is the gateway's (per route in its config),
 * where every browser request arrives.
 */
export async function buildApp(config: WebConfig, options: BuildOptions = {}): Promise<WebApp> {
  const logger = options.logger ?? createLogger({ service: 'web', level: config.logLevel });
  const files = loadStaticFiles(config.distDir);
  const index = files.get('/index.html') as StaticFile;
  const readiness = new Readiness();
  const app = createServiceApp({
    prefix: 'WEB',
    logger,
    readiness,
    metrics: createMetricsRegistry('web'),
    errors: options.errors,
  });

  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0] as string;
    const file = files.get(path);
    if (file !== undefined) return send(req, reply, file);
    if (isPageRoute(path)) return send(req, reply, index);
    throw webError('WEB_NOT_FOUND', 'no such file');
  });
  await app.ready();
  logger.info({ files: files.size, distDir: config.distDir }, 'web: app loaded');
  return {
    app,
    readiness,
    async close() {
      await app.close();
    },
  };
}
