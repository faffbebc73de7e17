import { createServer, type Server } from 'node:http';
import { handleProbe, type Readiness, writeJson } from '@gatehouse/kit';
import type { GatewayMetrics } from '../metrics.ts';

export interface AdminDeps {
  readonly readiness: Readiness;
  readonly metrics: GatewayMetrics;
  /** The detailed health document (dependencies, keys, config hash). */
  readonly health: () => Promise<unknown>;
  /** The effective route table, secrets masked. */
  readonly config: () => unknown;
}

/**
 * The admin listener (loopback by default): /metrics, /health, /config, plus
 * /live and /ready. Nothing here is reachable on the public listener.
 */
export function createAdminServer(deps: AdminDeps): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (handleProbe(deps.readiness, req, res, path, { detail: true })) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      writeJson(res, 405, { status: 405, title: 'Method Not Allowed' });
      return;
    }
    if (path === '/metrics') {
      deps.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
          res.end(text);
        },
        () => writeJson(res, 500, { status: 500, title: 'metrics failed' }),
      );
      return;
    }
    if (path === '/health') {
      deps.health().then(
        (doc) => writeJson(res, 200, doc),
        () => writeJson(res, 500, { status: 500, title: 'health failed' }),
      );
      return;
    }
    if (path === '/config') {
      writeJson(res, 200, deps.config());
      return;
    }
    writeJson(res, 404, { status: 404, title: 'Not Found' });
  });
}
