import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { noErrorTracking, startErrorTracking } from './error-tracking.ts';
import { ProblemError } from './errors.ts';
import { loadTelemetryConfig } from './telemetry-config.ts';
import {
  captureLogger,
  type IngestPost,
  type SentryEvent,
  startHttpServer,
  startSentryIngest,
} from './testing.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TOKEN = 'eyJhbGciOiJFZERTQSJ9.secret-token-payload.sig';

describe('startErrorTracking', () => {
  it('sends an unexpected error with its tags, and nothing of the request', async () => {
    const ingest = await startSentryIngest();
    const { logger } = captureLogger();
    try {
      const config = loadTelemetryConfig(
        {
          SENTRY_DSN: ingest.dsn,
          NODE_ENV: 'test',
          SENTRY_ENVIRONMENT: 'staging',
          SENTRY_RELEASE: 'gh@1.2.3',
        },
        'auth',
      );
      const errors = await startErrorTracking(config, logger);
      assert.equal(errors.enabled, true);
      // Whatever else in the process might put on Sentry's global scope (a library, a future
      // integration): a user, the request with its headers and cookies, breadcrumbs, extra data.
      const { getGlobalScope } = await import('@sentry/core');
      getGlobalScope()
        .setUser({ id: 'user-7', ip_address: '10.1.2.3', email: 'ana@example.com' })
        .setExtra('headers', { authorization: `Bearer ${TOKEN}` })
        .addBreadcrumb({ message: `POST /login token=${TOKEN}` })
        .setSDKProcessingMetadata({
          normalizedRequest: { headers: { cookie: `gh_refresh=${TOKEN}` }, data: { password: TOKEN } },
        });
      // What a careless caller might attach to an error: the request, its headers and cookies.
      const err = Object.assign(new TypeError('cannot read the pool', { cause: new Error('ECONNRESET') }), {
        req: { headers: { authorization: `Bearer ${TOKEN}`, cookie: `gh_refresh=${TOKEN}` } },
      });
      errors.capture(err, {
        requestId: 'req-123',
        traceId: TRACE,
        route: '/api/auth/me',
        method: 'GET',
        status: 500,
        tenantId: 'tenant-1',
      });
      await errors.close(2_000);
      getGlobalScope()
        .setUser(null)
        .setExtra('headers', undefined)
        .clearBreadcrumbs()
        .setSDKProcessingMetadata({ normalizedRequest: undefined });

      assert.equal(ingest.posts.length, 1);
      const post = ingest.posts[0] as IngestPost;
      assert.equal(post.url.split('?')[0], '/api/42/envelope/');
      const sent = ingest.events();
      assert.equal(sent.length, 1);
      const event = sent[0] as SentryEvent;
      // Sentry lists the chain innermost first: the cause, then the error itself.
      const [cause, thrown] = event.exception?.values ?? [];
      assert.equal(thrown?.type, 'TypeError');
      assert.equal(thrown?.value, 'cannot read the pool');
      assert.ok((thrown?.stacktrace?.frames?.length ?? 0) > 0, 'a stack trace is sent');
      assert.equal(cause?.value, 'ECONNRESET', 'the cause is sent with it');
      assert.equal(event.environment, 'staging');
      assert.equal(event.release, 'gh@1.2.3');
      assert.equal(event.level, 'error');
      assert.deepEqual(event.tags, {
        service: 'auth',
        requestId: 'req-123',
        traceId: TRACE,
        route: '/api/auth/me',
        method: 'GET',
        status: '500',
        tenantId: 'tenant-1',
      });
      assert.equal(event.contexts?.trace?.trace_id, TRACE, 'the event joins the request’s trace');
      assert.equal(event.request, undefined);
      assert.equal(event.user, undefined);
      for (const secret of [
        TOKEN,
        'secret-token',
        'authorization',
        'cookie',
        'gh_refresh',
        'Bearer',
        '10.1.2.3',
        'ana@',
      ]) {
        assert.ok(!post.body.toLowerCase().includes(secret.toLowerCase()), `${secret} must not be sent`);
      }
    } finally {
      await ingest.close();
    }
  });

  it('drops a request and user that something else put on an event', async () => {
    const { scrubSentryEvent } = await import('./error-tracking.ts');
    const scrubbed = scrubSentryEvent({
      type: undefined,
      request: { headers: { authorization: TOKEN }, cookies: { a: TOKEN }, data: TOKEN },
      user: { ip_address: '10.0.0.1' },
      breadcrumbs: [{ message: TOKEN }],
      extra: { body: TOKEN },
      tags: { service: 'x' },
    });
    assert.ok(!JSON.stringify(scrubbed).includes(TOKEN));
    assert.deepEqual(scrubbed.tags, { service: 'x' });
  });

  it('does not send 4xx problems, and sends no tenant or user tag when unset', async () => {
    const ingest = await startSentryIngest();
    const { logger } = captureLogger();
    try {
      const errors = await startErrorTracking(
        loadTelemetryConfig({ SENTRY_DSN: ingest.dsn }, 'gateway'),
        logger,
      );
      errors.capture(new ProblemError('GW_NOT_FOUND', { status: 404, title: 'Not found' }));
      errors.capture(Object.assign(new Error('bad input'), { statusCode: 400 }));
      errors.capture(new Error('answered as 409'), { status: 409 });
      errors.capture(new Error('the one that counts'), { requestId: 'r1', route: '/x', method: 'POST' });
      errors.capture(new ProblemError('GW_UPSTREAM', { status: 502, title: 'Bad gateway' }));
      await errors.close();
      const sent = ingest.events();
      assert.deepEqual(
        sent.map((e) => e.exception?.values?.at(-1)?.value),
        ['the one that counts', 'Bad gateway'],
      );
      assert.deepEqual(sent[0]?.tags, { service: 'gateway', requestId: 'r1', route: '/x', method: 'POST' });
      assert.equal(sent[0]?.environment, 'development', 'NODE_ENV when SENTRY_ENVIRONMENT is unset');
    } finally {
      await ingest.close();
    }
  });

  it('never throws when the ingest is down; close() resolves and one warning is logged', async () => {
    const ingest = await startSentryIngest();
    const dsn = ingest.dsn;
    await ingest.close();
    const { logger, lines } = captureLogger();
    const errors = await startErrorTracking(loadTelemetryConfig({ SENTRY_DSN: dsn }, 'auth'), logger);
    for (let i = 0; i < 3; i++) errors.capture(new Error(`lost ${i}`));
    const started = Date.now();
    await errors.close(1_000);
    assert.ok(Date.now() - started < 1_500, `close took ${Date.now() - started} ms`);
    const warnings = lines.filter((l) => l.event === 'error_tracking' && l.level === 'warn');
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    errors.capture(new Error('after close'));
  });

  it('close() gives up at its timeout when the ingest never answers', async () => {
    const hanging = createServer(() => {});
    hanging.listen(0, '127.0.0.1');
    await once(hanging, 'listening');
    const { port } = hanging.address() as AddressInfo;
    try {
      const { logger } = captureLogger();
      const errors = await startErrorTracking(
        loadTelemetryConfig({ SENTRY_DSN: `http://k@127.0.0.1:${port}/7` }, 'auth'),
        logger,
      );
      errors.capture(new Error('stuck'));
      const started = Date.now();
      await errors.close(300);
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 1_000, `close took ${took} ms`);
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });

  it('without a DSN is disabled and sends nothing', async () => {
    const { logger, lines } = captureLogger();
    const errors = await startErrorTracking(loadTelemetryConfig({ NODE_ENV: 'production' }, 'auth'), logger);
    assert.equal(errors, noErrorTracking);
    assert.equal(errors.enabled, false);
    errors.capture(new Error('nowhere to go'));
    await errors.close();
    assert.equal(lines.length, 0);
  });

  it('loads the Sentry SDK only when a DSN is set', async () => {
    const ingest = await startSentryIngest();
    try {
      // A fresh process records every module it resolves, then starts error tracking.
      const moduleUrl = (file: string) => pathToFileURL(join(import.meta.dirname, file)).href;
      const script = `
        import { registerHooks } from 'node:module';
        const resolved = [];
        registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); resolved.push(r.url); return r; } });
        const { startErrorTracking } = await import(${JSON.stringify(moduleUrl('error-tracking.ts'))});
        const { loadTelemetryConfig } = await import(${JSON.stringify(moduleUrl('telemetry-config.ts'))});
        const { captureLogger } = await import(${JSON.stringify(moduleUrl('testing.ts'))});
        const errors = await startErrorTracking(loadTelemetryConfig(process.env, 'probe'), captureLogger().logger);
        errors.capture(new Error('probe'));
        await errors.close(1000);
        console.log(JSON.stringify({ enabled: errors.enabled, sentry: resolved.filter((u) => u.includes('@sentry')) }));
      `;
      const run = async (env: Record<string, string>) => {
        const { stdout } = await promisify(execFile)(
          process.execPath,
          ['--input-type=module', '--eval', script],
          { env: { PATH: process.env.PATH ?? '', ...env } },
        );
        return JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
          enabled: boolean;
          sentry: string[];
        };
      };
      const without = await run({});
      assert.deepEqual(without, { enabled: false, sentry: [] });
      assert.equal(ingest.posts.length, 0);
      // The probe does see the SDK when it is loaded.
      const withDsn = await run({ SENTRY_DSN: ingest.dsn });
      assert.equal(withDsn.enabled, true);
      assert.ok(
        withDsn.sentry.some((u) => u.includes('@sentry/core')),
        JSON.stringify(withDsn),
      );
      assert.equal(ingest.posts.length, 1);
    } finally {
      await ingest.close();
    }
  });
});
