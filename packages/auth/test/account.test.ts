import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BACKENDS, STRONG_PASSWORD, startAuth, type TestAuth } from './helpers.ts';

let t: TestAuth;
for (const backend of BACKENDS) {
  describe(`account on ${backend.name}`, { skip: backend.skip }, () => {
    before(async () => {
      t = await startAuth({}, backend);
    });
    after(() => t.close());

    const NEW_PASSWORD = 'lantern orbit pickle 93 canyon';

    test('password change needs the current password, checks the policy and ends every session', async () => {
      const u = await t.registerUser('change');
      const wrong = await t.call('POST', '/api/auth/password/change', {
        token: u.accessToken,
        body: { currentPassword: 'not it at all, sorry', newPassword: NEW_PASSWORD },
      });
      assert.equal(wrong.json().code, 'AUTH_WRONG_PASSWORD');
      const weak = await t.call('POST', '/api/auth/password/change', {
        token: u.accessToken,
        body: { currentPassword: STRONG_PASSWORD, newPassword: 'password123' },
      });
      assert.equal(weak.json().code, 'AUTH_WEAK_PASSWORD');
      const { cursor } = (await t.internal('GET', '/internal/revocations')).json();
      const ok = await t.call('POST', '/api/auth/password/change', {
        token: u.accessToken,
        body: { currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD },
      });
      assert.equal(ok.statusCode, 204);
      const events = (await t.internal('GET', `/internal/revocations?after=${cursor}`)).json().events;
      assert.ok(events.some((e: { type: string; sub: string }) => e.type === 'user' && e.sub === u.user.id));
      assert.equal(
        (await t.call('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } })).statusCode,
        401,
      );
      const login = await t.call('POST', '/api/auth/login', {
        body: { email: u.email, password: NEW_PASSWORD },
      });
      assert.equal(login.statusCode, 200);
    });

    test('password reset: same answer for unknown emails; the token works once and ends every session', async () => {
      const u = await t.registerUser('reset');
      const unknown = await t.call('POST', '/api/auth/password-reset/request', {
        body: { email: 'ghost@example.com' },
      });
      const known = await t.call('POST', '/api/auth/password-reset/request', { body: { email: u.email } });
      assert.equal(unknown.statusCode, 202);
      assert.equal(known.statusCode, 202);
      assert.equal(unknown.body, known.body);
      const token = t.mailedToken(u.email, /Reset/);
      assert.ok(token.length >= 40, '>= 128 bits');
      const weak = await t.call('POST', '/api/auth/password-reset/confirm', {
        body: { token, newPassword: 'short' },
      });
      assert.equal(weak.json().code, 'AUTH_WEAK_PASSWORD');
      const ok = await t.call('POST', '/api/auth/password-reset/confirm', {
        body: { token, newPassword: NEW_PASSWORD },
      });
      assert.equal(ok.statusCode, 204);
      const again = await t.call('POST', '/api/auth/password-reset/confirm', {
        body: { token, newPassword: NEW_PASSWORD },
      });
      assert.equal(again.json().code, 'AUTH_INVALID_TOKEN');
      assert.equal(
        (await t.call('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } })).statusCode,
        401,
      );
      const stored = await t.auth.services.db.query<{ n: number }>(
        'select count(*)::int as n from one_time_tokens where token_hash = $1',
        [token],
      );
      assert.equal(stored.rows[0]?.n, 0, 'tokens are stored hashed, never as issued');
    });

    test('email verification: single use; /me shows the result', async () => {
      const u = await t.registerUser('verify');
      assert.equal(
        (await t.call('GET', '/api/auth/me', { token: u.accessToken })).json().user.emailVerified,
        false,
      );
      const token = t.mailedToken(u.email, /Verify/);
      assert.equal((await t.call('POST', '/api/auth/email/verify', { body: { token } })).statusCode, 204);
      assert.equal(
        (await t.call('POST', '/api/auth/email/verify', { body: { token } })).json().code,
        'AUTH_INVALID_TOKEN',
      );
      assert.equal(
        (await t.call('GET', '/api/auth/me', { token: u.accessToken })).json().user.emailVerified,
        true,
      );
    });

    test('registration refuses weak passwords, passwords with the email, and a taken email', async () => {
      const email = `taken${Date.now()}@example.com`;
      const base = { email, name: 'N', tenantName: 'T' };
      const cases: [string, string][] = [
        ['short', 'must be at least 15'],
        ['passwordpassword', 'too common'],
        ['iloveyou123456789', 'too common'],
        [`${email} is mine`, 'email'],
        ['x'.repeat(129), 'at most'],
      ];
      for (const [password, why] of cases) {
        const res = await t.call('POST', '/api/auth/register', { body: { ...base, password } });
        assert.equal(res.json().code, 'AUTH_WEAK_PASSWORD', password);
        assert.match(res.json().detail, new RegExp(why));
      }
      assert.equal(
        (await t.call('POST', '/api/auth/register', { body: { ...base, password: STRONG_PASSWORD } }))
          .statusCode,
        201,
      );
      const dup = await t.call('POST', '/api/auth/register', {
        body: { ...base, email: email.toUpperCase(), password: STRONG_PASSWORD },
      });
      assert.equal(dup.statusCode, 409);
      assert.equal(dup.json().code, 'AUTH_EMAIL_TAKEN');
    });

    test('the OpenAPI document lists the routes; the interactive page is served', async () => {
      const doc = (await t.call('GET', '/api/auth/openapi.json')).json();
      assert.equal(doc.openapi, '3.1.0');
      for (const path of ['/api/auth/register', '/api/auth/login', '/api/auth/tenants/{tenantId}/members']) {
        assert.ok(doc.paths[path], path);
      }
      const page = await t.call('GET', '/api/auth/docs/');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /swagger/i);
    });
  });
}
