import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureLogger } from '@gatehouse/kit/testing';
import type { RequestContext } from '../context.ts';
import type { Identity } from '../identity/verifier.ts';
import type { CompiledRoute } from '../routing/route-table.ts';
import { contextFor } from '../test-context.ts';
import { createAccessLineSerializer } from './access-line.ts';

/**
 * The hand-made access line is byte for byte the line pino writes for the same
 * fields (the time aside), escaping included, so log pipelines see no change.
 */
describe('access line', () => {
  function pinoLine(
    logger: ReturnType<typeof captureLogger>,
    ctx: RequestContext,
    status: number,
    durationMs: number,
    route: string,
  ): string {
    logger.logger.info(
      {
        requestId: ctx.requestId,
        traceId: ctx.traceId,
        method: ctx.method,
        route,
        upstream: ctx.route?.upstream.name,
        status,
        durationMs,
        upstreamMs: ctx.upstreamMs === undefined ? undefined : Math.round(ctx.upstreamMs * 100) / 100,
        userId: ctx.identity?.sub,
        tenantId: ctx.identity?.tid,
        clientIp: ctx.clientIp,
        reason: ctx.failure,
        ...(ctx.socket === undefined ? {} : { upgrade: true }),
      },
      'request',
    );
    return logger.text().split('\n').filter(Boolean).at(-1) as string;
  }
  const withoutTime = (line: string) => line.replace(/"time":"[^"]*"/, '"time":"T"');

  const cases: [string, (ctx: RequestContext) => void, number, string][] = [
    [
      'a refusal before routing',
      (ctx) =>
        Object.assign(ctx, {
          requestId: 'r-1',
          traceId: 'a'.repeat(32),
          clientIp: '10.0.0.1',
          failure: 'missing',
        }),
      401,
      'unmatched',
    ],
    [
      'a proxied request with identity and upstream time',
      (ctx) =>
        Object.assign(ctx, {
          requestId: 'c0ffee00-1111-2222-3333-444455556666',
          traceId: 'b'.repeat(32),
          clientIp: '2001:db8::1',
          route: { id: '/api', upstream: { name: 'echo' } } as unknown as CompiledRoute,
          upstreamMs: 1.23456,
          identity: { sub: 'user-1', tid: 'tenant-1', roles: ['member'] } as unknown as Identity,
        }),
      200,
      '/api',
    ],
    [
      'values that need escaping and an upgrade',
      (ctx) =>
        Object.assign(ctx, {
          requestId: 'id"with\\quote',
          traceId: 'c'.repeat(32),
          clientIp: '127.0.0.1',
          route: { id: '/ws', upstream: { name: 'chät' } } as unknown as CompiledRoute,
          identity: { sub: 'ü\n"x"', tid: 't\u2028', roles: [] } as unknown as Identity,
          failure: 'upstream_error:ECONNRESET',
          socket: {},
        }),
      502,
      '/ws',
    ],
  ];

  for (const [name, fill, status, route] of cases) {
    it(`matches pino: ${name}`, () => {
      const logs = captureLogger('gateway', 'info');
      const ctx = contextFor({ method: 'POST' });
      fill(ctx);
      const line = createAccessLineSerializer(logs.logger)(ctx, status, 12.34, route);
      assert.ok(line.endsWith('\n'));
      assert.equal(withoutTime(line.trimEnd()), withoutTime(pinoLine(logs, ctx, status, 12.34, route)));
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.ok(Math.abs(Date.parse(parsed.time as string) - Date.now()) < 60_000, 'an ISO time of now');
    });
  }
});
