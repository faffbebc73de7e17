import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startSentryIngest, waitFor } from '@gatehouse/kit/testing';
import pg from 'pg';
import { baseEnv, postgresBackend, type RunningAuth, startAuthProcess } from '../auth/process.ts';

/**
 * The real identity service with SENTRY_DSN pointing at a fake Sentry ingest in this test: a
 * real unexpected failure (the database lost a table the service queries) answers 500 and is
 * reported once, with the request's tags and none of its credentials; a 4xx is not reported.
 * Needs Postgres: the test breaks the database from outside the process.
 */

const backend = postgresBackend();

describe('error tracking in the identity service process', { skip: backend.skip }, () => {
  let ingest: Awaited<ReturnType<typeof startSentryIngest>> | undefined;
  let auth: RunningAuth | undefined;
  after(async () => {
    await auth?.stop('SIGKILL');
    await ingest?.close();
    await backend.cleanup();
  });

  test('a 500 from a broken database is reported with its tags and without credentials', async () => {
    ingest = await startSentryIngest();
    const env: Record<string, string> = {
      ...baseEnv(),
      ...(await backend.env()),
      SENTRY_DSN: ingest.dsn,
      SENTRY_ENVIRONMENT: 'integration',
      SENTRY_RELEASE: 'gatehouse@it',
    };
    auth = await startAuthProcess(env);
    assert.ok(
      auth.lines.some((l) => l.msg === 'error tracking: unexpected errors are sent to Sentry'),
      'the process says it reports errors',
    );

    const email = `sentry-${Date.now()}@example.com`;
    const password = 'no password ever leaves 2026';
    const reg = await auth.call('POST', '/api/auth/register', {
      body: { email, password, name: 'Reporter', tenantName: 'Reports' },
    });
    assert.equal(reg.status, 201, await reg.clone().text());
    const { accessToken, refreshToken, user } = (await reg.json()) as {
      accessToken: string;
      refreshToken: string;
      user: { id: string };
    };

    // An expected failure (no identity: 401) is not reported.
    const anonymous = await auth.call('GET', '/api/auth/me');
    assert.equal(anonymous.status, 401);

    // The database loses the table the service reads: a failure nobody planned for.
    const admin = new pg.Client({ connectionString: env.DATABASE_URL });
    await admin.connect();
    try {
      await admin.query('alter table users rename to users_gone');
    } finally {
      await admin.end();
    }
    const me = await auth.call('GET', '/api/auth/me', {
      token: accessToken,
      headers: { authorization: `Bearer ${accessToken}`, cookie: `gh_refresh=${refreshToken}` },
    });
    assert.equal(me.status, 500, await me.clone().text());
    const requestId = me.headers.get('x-request-id');
    assert.ok(requestId);

    const event = await waitFor('the reported event', () => ingest?.events()[0]);
    const thrown = event.exception?.values?.at(-1);
    assert.match(String(thrown?.value), /users/, JSON.stringify(thrown));
    assert.equal(event.environment, 'integration');
    assert.equal(event.release, 'gatehouse@it');
    assert.equal(event.tags?.service, 'auth');
    assert.equal(event.tags?.requestId, requestId);
    assert.equal(event.tags?.route, '/api/auth/me');
    assert.equal(event.tags?.method, 'GET');
    assert.equal(event.tags?.status, '500');
    assert.equal(event.tags?.userId, user.id);
    assert.match(String(event.tags?.tenantId), /^[0-9a-f-]{36}$/);
    assert.match(String(event.tags?.traceId), /^[0-9a-f]{32}$/);
    assert.equal(event.request, undefined);
    assert.equal(event.user, undefined);

    // A graceful stop flushes and exits cleanly; exactly one event was sent, free of credentials.
    assert.equal(await auth.stop('SIGTERM'), 0);
    assert.equal(ingest.events().length, 1, 'the 401 was not reported');
    const raw = ingest.posts.map((p) => p.body).join('\n');
    for (const secret of [
      accessToken,
      refreshToken,
      password,
      email,
      'authorization',
      'cookie',
      'assertion',
    ]) {
      assert.ok(
        !raw.toLowerCase().includes(secret.toLowerCase()),
        `${secret.slice(0, 20)}… must not be sent`,
      );
    }
  });
});
