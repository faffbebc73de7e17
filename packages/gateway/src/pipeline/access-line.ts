import { type Logger, lineBindings } from '@gatehouse/kit';
import type { RequestContext } from '../context.ts';

/** A string that needs no JSON escaping (printable ASCII without `"` and `\`). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function str(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * Serialises access lines by hand, byte for byte as pino would write them
 * (`level`, `time`, the logger's bindings, the fields, `msg`; undefined fields
 * left out), without pino's generic object walk, redaction or a Date per line.
 * Every value is the gateway's own: ids, names and numbers, never a header,
 * token, query or body.
 */
export function createAccessLineSerializer(
  logger: Logger,
): (ctx: RequestContext, status: number, durationMs: number, route: string) => string {
  // `,"service":"gateway","pid":123` and any child bindings, as pino writes them.
  const bindings = lineBindings(logger);
  const head = '{"level":"info","time":"';
  let lastMs = 0;
  let lastTime = '';
  return function accessLine(ctx, status, durationMs, route) {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTime = new Date(now).toISOString();
    }
    let line = `${head}${lastTime}"${bindings},"requestId":${str(ctx.requestId)},"traceId":"${ctx.traceId}","method":${str(ctx.method)},"route":${str(route)}`;
    const upstream = ctx.route?.upstream.name;
    if (upstream !== undefined) line += `,"upstream":${str(upstream)}`;
    line += `,"status":${status},"durationMs":${durationMs}`;
    if (ctx.upstreamMs !== undefined) line += `,"upstreamMs":${Math.round(ctx.upstreamMs * 100) / 100}`;
    const identity = ctx.identity;
    if (identity !== undefined) line += `,"userId":${str(identity.sub)},"tenantId":${str(identity.tid)}`;
    line += `,"clientIp":${str(ctx.clientIp)}`;
    if (ctx.failure !== undefined) line += `,"reason":${str(ctx.failure)}`;
    if (ctx.socket !== undefined) line += ',"upgrade":true';
    return `${line},"msg":"request"}\n`;
  };
}
