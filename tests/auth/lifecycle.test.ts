import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { decodeJwt } from 'jose';
import { baseEnv, pgliteBackend, postgresBackend, type RunningAuth, startAuthProcess } from './process.ts';

/**
 * The identity service as a real process (packages/auth/src/main.ts) on each
 * database: sign-up → sign-in → a protected call → refresh → reuse kills the
 * family → logout → the revocation reaches the feed (and Redis) within 1 s →
 * a restart keeps data, keys and the feed → SIGTERM exits 0.
 */
const PASSWORD = 'integration tests need long phrases 1';
const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;

for (const backend of [pgliteBackend(), postgresBackend()]) {
  describe(`auth process on ${backend.name}`, { skip: backend.skip }, () => {
    let auth: RunningAuth | undefined;
    after(async () => {
      await auth?.stop('SIGKILL');
      await backend.cleanup();
    });

    test('the whole session lifecycle, revocation within 1 s, restart, graceful stop', async (t) => {
      const env = {
        ...baseEnv(),
        ...(await backend.env()),
        ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }),
      };
      if (redisUrl === undefined)
        t.diagnostic(
          'SKIPPED (Redis not installed): GATEHOUSE_TEST_REDIS_URL is not set; pub/sub not checked',
        );
      auth = await startAuthProcess(env);
      const a = auth;
      assert.equal((await fetch(`${a.url}/live`)).status, 200);

      const email = `it-${Date.now()}@example.com`;
      const reg = await a.call('POST', '/api/auth/register', {
        body: { email, password: PASSWORD, name: 'Integration', tenantName: 'IT Corp' },
      });
      assert.equal(reg.status, 201);
      const registered = (await reg.json()) as {
        accessToken: string;
        refreshToken: string;
        user: { id: string };
      };

      const login = await a.call('POST', '/api/auth/login', { body: { email, password: PASSWORD } });
      assert.equal(login.status, 200);
      const session = (await login.json()) as { accessToken: string; refreshToken: string };

      const me = await a.call('GET', '/api/auth/me', { token: session.accessToken });
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { user: { email: string } }).user.email, email);
      assert.equal(
        (await a.call('GET', '/api/auth/me', { headers: { 'x-user-id': registered.user.id } })).status,
        401,
      );

      const refreshed = await a.call('POST', '/api/auth/refresh', {
        body: { refreshToken: session.refreshToken },
      });
      assert.equal(refreshed.status, 200);
      const rotated = (await refreshed.json()) as { accessToken: string; refreshToken: string };

      // Reuse beyond the one allowed retry: the family dies.
      await a.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
      const reuse = await a.call('POST', '/api/auth/refresh', {
        body: { refreshToken: session.refreshToken },
      });
      assert.equal(reuse.status, 401);
      assert.equal(((await reuse.json()) as { code: string }).code, 'AUTH_REFRESH_REUSED');
      assert.equal(
        (await a.call('POST', '/api/auth/refresh', { body: { refreshToken: rotated.refreshToken } })).status,
        401,
      );

      // Logout of the registration session: the gateway learns within 1 s (long poll, and Redis when set).
      const start = (await (await a.internal('/internal/revocations')).json()) as { cursor: string };
      const subscriber = redisUrl === undefined ? undefined : new Redis(redisUrl);
      const published: unknown[] = [];
      if (subscriber !== undefined) {
        await subscriber.subscribe('gatehouse:revocations');
        subscriber.on('message', (_c, message) => published.push(JSON.parse(message)));
      }
      const poll = a.internal(`/internal/revocations?after=${start.cursor}&wait=5000`);
      const loggedOutAt = Date.now();
      const out = await a.call('POST', '/api/auth/logout', {
        token: registered.accessToken,
        body: { refreshToken: registered.refreshToken },
      });
      assert.equal(out.status, 204);
      const feed = (await (await poll).json()) as {
        events: { type: string; jti?: string }[];
        cursor: string;
      };
      assert.ok(Date.now() - loggedOutAt < 1000, 'revocation delivered within 1 s');
      const jti = (decodeJwt(registered.accessToken) as { jti: string }).jti;
      assert.ok(feed.events.some((e) => e.type === 'jti' && e.jti === jti));
      if (subscriber !== undefined) {
        for (let i = 0; i < 20 && published.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(
          published.some((e) => (e as { jti?: string }).jti === jti),
          'published on Redis',
        );
        await subscriber.quit();
      }

      // Restart: users, keys and the revocation feed survive.
      const kid = (
        (await (await fetch(`${a.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
      ).keys[0]?.kid;
      // A gateway's open long poll does not hold the shutdown for its 25 s.
      const open = a.internal(`/internal/revocations?after=${feed.cursor}&wait=25000`);
      await new Promise((r) => setTimeout(r, 200));
      const stopping = Date.now();
      assert.equal(await a.stop('SIGTERM'), 0, 'graceful shutdown exits 0');
      assert.ok(Date.now() - stopping < 5000, 'shutdown did not wait for the long poll');
      assert.equal((await open).status, 200);
      auth = await startAuthProcess(env);
      const b = auth;
      const kid2 = (
        (await (await fetch(`${b.url}/api/auth/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
      ).keys[0]?.kid;
      assert.equal(kid2, kid, 'the development key is kept');
      const again = (await (await b.internal('/internal/revocations')).json()) as {
        events: { jti?: string }[];
      };
      assert.ok(
        again.events.some((e) => e.jti === jti),
        'the feed survives a restart',
      );
      assert.equal(
        (await b.call('POST', '/api/auth/login', { body: { email, password: PASSWORD } })).status,
        200,
      );
      assert.equal(await b.stop('SIGTERM'), 0);
    });
  });
}
