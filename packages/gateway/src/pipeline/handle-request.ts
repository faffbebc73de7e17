import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleProbe, type Readiness } from '@gatehouse/kit';
import { createContext, type Stage } from '../context.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { AccessLog } from './access-log.ts';
import { ResponseResponder } from './responder.ts';
import type { Run } from './run.ts';

/** A plain HTTP request: the probes, else the stages and the proxy as the terminal. */
export function createRequestHandler(options: {
  readonly readiness: Readiness;
  readonly metrics: GatewayMetrics;
  readonly run: Run;
  readonly pipeline: readonly Stage[];
  readonly accessLog: AccessLog;
}) {
  const { readiness, metrics, run, pipeline, accessLog } = options;
  return function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    if (readiness.shuttingDown) res.setHeader('connection', 'close');
    const url = req.url ?? '';
    if ((url === '/live' || url === '/ready') && handleProbe(readiness, req, res, url)) return;
    const ctx = createContext(req, { res, responder: new ResponseResponder(res) }, started);
    metrics.inFlight.inc();
    // 'close' comes once per response: a plain listener, without once()'s wrapper per request.
    res.on('close', () => {
      if (!res.writableFinished) {
        ctx.clientGone = true;
        ctx.onClientGone?.();
      }
      accessLog(ctx, res.writableFinished ? res.statusCode : 499);
    });
    void run(ctx, pipeline);
  };
}
