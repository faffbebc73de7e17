import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import {
  baseEnv,
  pgliteBackend,
  postgresBackend,
  type RunningAuth,
  type RunningGateway,
  startAuthProcess,
  startGatewayProcess,
} from './process.ts';

/**
 * The identity service behind the real gateway, configured by the shipped
 * config/gateway.yaml (only the listen ports and the auth address changed):
 * what a browser or API client sees.
 */
const PASSWORD = 'through the front door 2026';

for (const backend of [pgliteBackend(), postgresBackend()]) {
  describe(`through the gateway, ${backend.name}`, { skip: backend.skip }, () => {
    let auth: RunningAuth | undefined;
    let gateway: RunningGateway | undefined;
    after(async () => {
      await gateway?.stop();
      await auth?.stop('SIGKILL');
      await backend.cleanup();
    });

    test('sign up, sign in, manage members, refresh, reuse, sign out', async () => {
      const env = { ...baseEnv(), ...(await backend.env()) };
      auth = await startAuthProcess(env);
      gateway = await startGatewayProcess(auth.url, env);
      const g = gateway.url;
      const post = (path: string, body: unknown, token?: string) =>
        fetch(`${g}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(body),
        });
      const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
        fetch(`${g}${path}`, {
          headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        });

      const owner = `gw-owner-${Date.now()}@example.com`;
      const reg = await post('/api/auth/register', {
        email: owner,
        password: PASSWORD,
        name: 'Owner',
        tenantName: 'Front',
      });
      assert.equal(reg.status, 201, await reg.clone().text());
      const o = (await reg.json()) as { accessToken: string; refreshToken: string; tenant: { id: string } };
      assert.equal((await get('/api/auth/.well-known/jwks.json')).status, 200);

      // Protected routes need the token at the gateway; spoofed identity headers are dropped there.
      assert.equal((await get('/api/auth/me')).status, 401);
      const spoof = await get('/api/auth/me', undefined, {
        'x-user-id': 'someone',
        'x-gateway-assertion': 'forged',
      });
      assert.equal(spoof.status, 401);
      const me = await get('/api/auth/me', o.accessToken);
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { user: { email: string } }).user.email, owner);

      // A second user joins by invitation.
      const memberEmail = `gw-member-${Date.now()}@example.com`;
      const m = (await (
        await post('/api/auth/register', {
          email: memberEmail,
          password: PASSWORD,
          name: 'Member',
          tenantName: 'Own',
        })
      ).json()) as { accessToken: string; tenant: { id: string } };
      const invite = await post(
        `/api/auth/tenants/${o.tenant.id}/invitations`,
        { email: memberEmail, role: 'member' },
        o.accessToken,
      );
      assert.equal(invite.status, 201);
      const token = await auth.mailedToken(memberEmail, /invited/);
      assert.equal((await post('/api/auth/invitations/accept', { token }, m.accessToken)).status, 200);
      const members = await get(`/api/auth/tenants/${o.tenant.id}/members`, o.accessToken);
      assert.equal(((await members.json()) as unknown[]).length, 2);
      // The member's own tenant is another tenant: the owner of Front cannot manage it.
      const cross = await get(`/api/auth/tenants/${m.tenant.id}/members`, o.accessToken);
      assert.equal(cross.status, 403);

      const login = await post('/api/auth/login', { email: owner, password: PASSWORD });
      assert.equal(login.status, 200);
      const s = (await login.json()) as { accessToken: string; refreshToken: string };
      const r1 = await post('/api/auth/refresh', { refreshToken: s.refreshToken });
      assert.equal(r1.status, 200);
      await post('/api/auth/refresh', { refreshToken: s.refreshToken });
      const reuse = await post('/api/auth/refresh', { refreshToken: s.refreshToken });
      assert.equal(reuse.status, 401);
      assert.equal(((await reuse.json()) as { code: string }).code, 'AUTH_REFRESH_REUSED');

      assert.equal((await get('/api/auth/me', o.accessToken)).status, 200);
      const out = await post('/api/auth/logout', { refreshToken: o.refreshToken }, o.accessToken);
      assert.equal(out.status, 204);
      // Every gateway stops accepting the revoked access token within 1 s.
      const loggedOut = Date.now();
      let refusedAfter: number | undefined;
      while (Date.now() - loggedOut < 3000) {
        if ((await get('/api/auth/me', o.accessToken)).status === 401) {
          refusedAfter = Date.now() - loggedOut;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(refusedAfter !== undefined && refusedAfter < 1000, `refused after ${refusedAfter} ms`);
      const feed = (await (await auth.internal('/internal/revocations')).json()) as {
        events: { jti?: string }[];
      };
      assert.ok(feed.events.some((e) => e.jti === (decodeJwt(o.accessToken) as { jti: string }).jti));
      // The internal endpoints are not routed to the identity service by the gateway.
      const internal = await get('/internal/revocations');
      assert.notEqual(internal.status, 200);
    });
  });
}
