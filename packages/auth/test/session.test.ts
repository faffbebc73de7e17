import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { BACKENDS, claimsOf, STRONG_PASSWORD, startAuth, type TestAuth } from './helpers.ts';

let t: TestAuth;
for (const backend of BACKENDS) {
  describe(`sessions on ${backend.name}`, { skip: backend.skip }, () => {
    before(async () => {
      t = await startAuth({ AUTH_REFRESH_REUSE_GRACE_SECONDS: '2' }, backend);
    });
    after(() => t.close());

    async function feed(after = '0') {
      const res = await t.internal('GET', `/internal/revocations?after=${after}`);
      assert.equal(res.statusCode, 200);
      return res.json() as { cursor: string; events: Record<string, unknown>[] };
    }

    describe('sign-up, sign-in and tokens', () => {
      test('register answers 201 with user, tenant and a token pair the JWKS verifies', async () => {
        const u = await t.registerUser();
        assert.equal((u as unknown as { tokenType: string }).tokenType, 'Bearer');
        const header = decodeProtectedHeader(u.accessToken);
        assert.equal(header.typ, 'at+jwt');
        assert.equal(header.alg, 'EdDSA');
        assert.equal(typeof header.kid, 'string');
        const jwks = (await t.call('GET', '/api/auth/.well-known/jwks.json')).json();
        const wellKnown = (await t.call('GET', '/.well-known/jwks.json')).json();
        assert.deepEqual(jwks, wellKnown);
        assert.equal(JSON.stringify(jwks).includes('"d"'), false, 'no private key material in the JWKS');
        const { payload } = await jwtVerify(u.accessToken, createLocalJWKSet(jwks), {
          issuer: t.config.issuer,
          audience: t.config.audience,
          typ: 'at+jwt',
        });
        assert.equal(payload.sub, u.user.id);
        assert.equal(payload.tid, u.tenant.id);
        assert.deepEqual(payload.roles, ['owner']);
        assert.equal(typeof payload.jti, 'string');
        assert.ok((payload.exp as number) - (payload.iat as number) <= 900);
      });

      test('login returns a pair; /me needs the gateway assertion, never bare headers', async () => {
        const u = await t.registerUser();
        const res = await t.call('POST', '/api/auth/login', {
          body: { email: u.email.toUpperCase(), password: STRONG_PASSWORD },
        });
        assert.equal(res.statusCode, 200);
        const pair = res.json();
        assert.deepEqual(Object.keys(pair).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
        const me = await t.call('GET', '/api/auth/me', { token: pair.accessToken });
        assert.equal(me.statusCode, 200);
        assert.equal(me.json().user.email, u.email);
        assert.deepEqual(me.json().roles, ['owner']);
        const spoofed = await t.call('GET', '/api/auth/me', {
          headers: { 'x-user-id': u.user.id, 'x-tenant-id': u.tenant.id, 'x-user-roles': 'owner' },
        });
        assert.equal(spoofed.statusCode, 401);
        assert.equal(spoofed.json().code, 'AUTH_UNAUTHENTICATED');
      });

      test('refresh rotates; one retry within the grace works; further reuse revokes the family', async () => {
        const u = await t.registerUser();
        const before = await feed();
        const first = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
        assert.equal(first.statusCode, 200);
        const next = first.json();
        assert.notEqual(next.refreshToken, u.refreshToken);
        // A client that lost the answer retries at once: allowed once.
        const retry = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
        assert.equal(retry.statusCode, 200);
        // A third use is theft: the whole family dies, including the tokens issued from it.
        const reuse = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
        assert.equal(reuse.statusCode, 401);
        assert.equal(reuse.json().code, 'AUTH_REFRESH_REUSED');
        const child = await t.call('POST', '/api/auth/refresh', {
          body: { refreshToken: next.refreshToken },
        });
        assert.equal(child.statusCode, 401);
        const events = (await feed(before.cursor)).events;
        const jtis = events.filter((e) => e.type === 'jti').map((e) => e.jti);
        assert.ok(
          jtis.includes(claimsOf(next.accessToken).jti),
          'the access token from the family is revoked',
        );
        assert.ok(jtis.includes(claimsOf(u.accessToken).jti));
      });

      test('reuse after the grace period revokes at once', async () => {
        const u = await t.registerUser();
        assert.equal(
          (await t.call('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } })).statusCode,
          200,
        );
        await new Promise((r) => setTimeout(r, 2100));
        const late = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
        assert.equal(late.json().code, 'AUTH_REFRESH_REUSED');
      });

      test('logout revokes the refresh family and the calling access token; logout-all publishes a user watermark', async () => {
        const u = await t.registerUser();
        const start = await feed();
        const out = await t.call('POST', '/api/auth/logout', {
          token: u.accessToken,
          body: { refreshToken: u.refreshToken },
        });
        assert.equal(out.statusCode, 204);
        const events = (await feed(start.cursor)).events;
        assert.ok(events.some((e) => e.type === 'jti' && e.jti === claimsOf(u.accessToken).jti));
        const again = await t.call('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
        assert.equal(again.statusCode, 401);

        const login = (
          await t.call('POST', '/api/auth/login', { body: { email: u.email, password: STRONG_PASSWORD } })
        ).json();
        const mid = await feed();
        assert.equal(
          (await t.call('POST', '/api/auth/logout-all', { token: login.accessToken })).statusCode,
          204,
        );
        const userEvent = (await feed(mid.cursor)).events.find((e) => e.type === 'user');
        assert.equal(userEvent?.sub, u.user.id);
        assert.ok((userEvent?.notBefore as number) > claimsOf(login.accessToken).iat);
        assert.equal(
          (await t.call('POST', '/api/auth/refresh', { body: { refreshToken: login.refreshToken } }))
            .statusCode,
          401,
        );
        // A new sign-in right after is not born revoked.
        const fresh = (
          await t.call('POST', '/api/auth/login', { body: { email: u.email, password: STRONG_PASSWORD } })
        ).json();
        assert.ok(claimsOf(fresh.accessToken).iat >= (userEvent?.notBefore as number));
      });

      test('the revocation feed long-polls and wakes up on a revocation', async () => {
        const u = await t.registerUser();
        const { cursor } = await feed();
        const started = Date.now();
        const waiting = t.internal('GET', `/internal/revocations?after=${cursor}&wait=5000`);
        setTimeout(
          () => void t.call('POST', '/api/auth/logout', { body: { refreshToken: u.refreshToken } }),
          200,
        );
        const res = await waiting;
        assert.ok(Date.now() - started < 2000, 'answered when the event came, not at the timeout');
        assert.ok(res.json().events.length > 0);
        assert.ok(Number(res.json().cursor) > Number(cursor));
      });
    });

    describe('attacks on the public endpoints', () => {
      test('mass assignment: role, tenantId, isAdmin, emailVerified are refused, never applied', async () => {
        for (const extra of [
          { role: 'owner' },
          { tenantId: '00000000-0000-0000-0000-000000000001' },
          { isAdmin: true },
          { emailVerified: true },
        ]) {
          const res = await t.call('POST', '/api/auth/register', {
            body: {
              email: `mass${Date.now()}@example.com`,
              password: STRONG_PASSWORD,
              name: 'M',
              tenantName: 'T',
              ...extra,
            },
          });
          assert.equal(res.statusCode, 400, JSON.stringify(extra));
          assert.equal(res.json().code, 'AUTH_VALIDATION');
          assert.ok(
            res.json().errors.some((e: { field: string }) => e.field === `body.${Object.keys(extra)[0]}`),
          );
        }
        const login = await t.call('POST', '/api/auth/login', {
          body: { email: 'a@example.com', password: STRONG_PASSWORD, isAdmin: true },
        });
        assert.equal(login.statusCode, 400);
      });

      test('SQL injection strings in every field are data, not SQL', async () => {
        const attacks = [
          "' OR '1'='1",
          "'; DROP TABLE users; --",
          '" OR ""="',
          "admin'--",
          '1; SELECT pg_sleep(5)',
        ];
        for (const attack of attacks) {
          const email = `x${Date.now()}@example.com`;
          const reg = await t.call('POST', '/api/auth/register', {
            body: { email, password: `${STRONG_PASSWORD} ${attack}`, name: attack, tenantName: attack },
          });
          assert.equal(reg.statusCode, 201, reg.body);
          assert.equal(reg.json().user.name, attack.trim());
          const login = await t.call('POST', '/api/auth/login', {
            body: { email: attack, password: attack },
          });
          assert.equal(login.statusCode, 401);
          const badEmail = await t.call('POST', '/api/auth/register', {
            body: { email: attack, password: STRONG_PASSWORD, name: attack, tenantName: attack },
          });
          assert.equal(badEmail.statusCode, 400);
          for (const path of ['/api/auth/refresh', '/api/auth/email/verify']) {
            const res = await t.call('POST', path, {
              body: path.endsWith('refresh') ? { refreshToken: attack } : { token: attack },
            });
            assert.equal(res.statusCode, 400, `${path} ${res.body}`);
          }
          const reset = await t.call('POST', '/api/auth/password-reset/request', { body: { email: attack } });
          assert.equal(reset.statusCode, 400);
          const internal = await t.internal('GET', `/internal/users/${encodeURIComponent(attack)}`);
          assert.equal(internal.statusCode, 400);
        }
        const stillThere = await t.registerUser();
        assert.ok(stillThere.user.id);
      });

      test('the refresh cookie is __Host-, HttpOnly, Secure, SameSite=Strict; using it needs an allowed Origin', async () => {
        const reg = await t.call('POST', '/api/auth/register', {
          body: {
            email: `cookie${Date.now()}@example.com`,
            password: STRONG_PASSWORD,
            name: 'C',
            tenantName: 'C',
          },
        });
        const cookie = String(reg.headers['set-cookie']);
        assert.match(cookie, /^__Host-gh_refresh=ghr_/);
        assert.match(cookie, /HttpOnly/);
        assert.match(cookie, /Secure/);
        assert.match(cookie, /SameSite=Strict/);
        assert.match(cookie, /Path=\//);
        assert.doesNotMatch(cookie, /Domain=/);
        const value = cookie.split(';')[0] as string;
        const forged = await t.call('POST', '/api/auth/refresh', {
          headers: { cookie: value, origin: 'https://evil.example' },
        });
        assert.equal(forged.statusCode, 403);
        assert.equal(forged.json().code, 'AUTH_CSRF');
        const noOrigin = await t.call('POST', '/api/auth/refresh', { headers: { cookie: value } });
        assert.equal(noOrigin.json().code, 'AUTH_CSRF');
        const ok = await t.call('POST', '/api/auth/refresh', {
          headers: { cookie: value, origin: 'http://127.0.0.1:8080' },
        });
        assert.equal(ok.statusCode, 200);
        const logout = await t.call('POST', '/api/auth/logout', {
          headers: {
            cookie: String(ok.headers['set-cookie']).split(';')[0] as string,
            origin: 'http://localhost:8080',
          },
        });
        assert.equal(logout.statusCode, 204);
        assert.match(String(logout.headers['set-cookie']), /Max-Age=0|Expires=Thu, 01 Jan 1970/);
      });

      test('internal endpoints refuse users and bare calls; answer the gateway', async () => {
        const u = await t.registerUser();
        const url = `/internal/users/${u.user.id}?tenant=${u.tenant.id}`;
        assert.equal((await t.call('GET', url)).statusCode, 401);
        assert.equal((await t.call('GET', url, { token: u.accessToken })).statusCode, 403);
        const ok = await t.internal('GET', url);
        assert.equal(ok.statusCode, 200);
        assert.deepEqual(ok.json(), {
          id: u.user.id,
          status: 'active',
          tenantId: u.tenant.id,
          member: true,
          roles: ['owner'],
        });
        const other = await t.internal(
          'GET',
          `/internal/users/${u.user.id}?tenant=00000000-0000-4000-8000-000000000000`,
        );
        assert.equal(other.json().member, false);
        assert.equal(
          (await t.internal('GET', '/internal/users/00000000-0000-4000-8000-000000000000')).statusCode,
          404,
        );
      });

      test('disabling a user ends every session and blocks sign-in', async () => {
        const u = await t.registerUser();
        const start = await feed();
        assert.equal(
          (await t.internal('PUT', `/internal/users/${u.user.id}/status`, { status: 'disabled' })).statusCode,
          204,
        );
        assert.ok((await feed(start.cursor)).events.some((e) => e.type === 'user' && e.sub === u.user.id));
        assert.equal(
          (await t.call('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } })).statusCode,
          401,
        );
        const login = await t.call('POST', '/api/auth/login', {
          body: { email: u.email, password: STRONG_PASSWORD },
        });
        assert.equal(login.json().code, 'AUTH_INVALID_CREDENTIALS');
      });
    });
  });
}
