import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BACKENDS, claimsOf, STRONG_PASSWORD, startAuth, type TestAuth } from './helpers.ts';

let t: TestAuth;
for (const backend of BACKENDS) {
  describe(`tenants and members on ${backend.name}`, { skip: backend.skip }, () => {
    before(async () => {
      t = await startAuth({}, backend);
    });
    after(() => t.close());

    async function login(email: string) {
      const res = await t.call('POST', '/api/auth/login', { body: { email, password: STRONG_PASSWORD } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { accessToken: string; refreshToken: string };
    }

    /** An owner with a tenant, and a second user invited into it with `role`. */
    async function teamWith(role: 'admin' | 'member' | 'owner') {
      const owner = await t.registerUser('owner');
      const joiner = await t.registerUser(role);
      const inv = await t.call('POST', `/api/auth/tenants/${owner.tenant.id}/invitations`, {
        token: owner.accessToken,
        body: { email: joiner.email, role },
      });
      assert.equal(inv.statusCode, 201, inv.body);
      const token = t.mailedToken(joiner.email, /invited/);
      const accepted = await t.call('POST', '/api/auth/invitations/accept', {
        token: joiner.accessToken,
        body: { token },
      });
      assert.equal(accepted.statusCode, 200, accepted.body);
      const switched = await t.call('POST', '/api/auth/switch-tenant', {
        token: joiner.accessToken,
        body: { tenantId: owner.tenant.id },
      });
      assert.equal(switched.statusCode, 200);
      return {
        owner,
        joiner,
        joinerInTenant: switched.json() as { accessToken: string; refreshToken: string },
      };
    }

    test('invite → accept → switch tenant: the new token carries the tenant and role', async () => {
      const { owner, joiner, joinerInTenant } = await teamWith('admin');
      const claims = claimsOf(joinerInTenant.accessToken);
      assert.equal(claims.tid, owner.tenant.id);
      assert.deepEqual(claims.roles, ['admin']);
      const list = await t.call('GET', `/api/auth/tenants/${owner.tenant.id}/members`, {
        token: joinerInTenant.accessToken,
      });
      assert.equal(list.statusCode, 200);
      assert.deepEqual(
        list
          .json()
          .map((m: { role: string }) => m.role)
          .sort(),
        ['admin', 'owner'],
      );
      const mine = await t.call('GET', '/api/auth/tenants', { token: joiner.accessToken });
      assert.equal(mine.json().length, 2);
      // Replaying the invitation fails.
      const token = t.mailedToken(joiner.email, /invited/);
      const replay = await t.call('POST', '/api/auth/invitations/accept', {
        token: joiner.accessToken,
        body: { token },
      });
      assert.equal(replay.json().code, 'AUTH_INVALID_TOKEN');
    });

    test('an invitation cannot be accepted by another address', async () => {
      const owner = await t.registerUser('owner');
      const stranger = await t.registerUser('stranger');
      await t.call('POST', `/api/auth/tenants/${owner.tenant.id}/invitations`, {
        token: owner.accessToken,
        body: { email: 'someone-else@example.com', role: 'member' },
      });
      const token = t.mailedToken('someone-else@example.com', /invited/);
      const res = await t.call('POST', '/api/auth/invitations/accept', {
        token: stranger.accessToken,
        body: { token },
      });
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().code, 'AUTH_INVITATION_EMAIL_MISMATCH');
    });

    test("cross-tenant: tenant A's admin cannot list, change or remove members of tenant B", async () => {
      const a = await teamWith('admin');
      const b = await teamWith('member');
      const adminA = a.joinerInTenant.accessToken;
      const tenantB = b.owner.tenant.id;
      const list = await t.call('GET', `/api/auth/tenants/${tenantB}/members`, { token: adminA });
      assert.equal(list.statusCode, 403);
      assert.equal(list.json().code, 'AUTH_TENANT_MISMATCH');
      const patch = await t.call('PATCH', `/api/auth/tenants/${tenantB}/members/${b.joiner.user.id}`, {
        token: adminA,
        body: { role: 'admin' },
      });
      assert.equal(patch.statusCode, 403);
      const del = await t.call('DELETE', `/api/auth/tenants/${tenantB}/members/${b.joiner.user.id}`, {
        token: adminA,
      });
      assert.equal(del.statusCode, 403);
      const inv = await t.call('POST', `/api/auth/tenants/${tenantB}/invitations`, {
        token: adminA,
        body: { email: 'x@example.com', role: 'admin' },
      });
      assert.equal(inv.statusCode, 403);
      // Acting on a user of B through A's own path: not a member of A.
      const other = await t.call(
        'DELETE',
        `/api/auth/tenants/${a.owner.tenant.id}/members/${b.joiner.user.id}`,
        {
          token: adminA,
        },
      );
      assert.equal(other.statusCode, 404);
      const membersB = await t.call('GET', `/api/auth/tenants/${tenantB}/members`, {
        token: b.owner.accessToken,
      });
      assert.equal(membersB.json().length, 2, 'tenant B untouched');
    });

    test('members cannot manage; admins cannot touch owners or grant owner', async () => {
      const { owner, joinerInTenant } = await teamWith('member');
      const asMember = await t.call('GET', `/api/auth/tenants/${owner.tenant.id}/members`, {
        token: joinerInTenant.accessToken,
      });
      assert.equal(asMember.json().code, 'AUTH_ROLE_FORBIDDEN');

      const team = await teamWith('admin');
      const adminToken = team.joinerInTenant.accessToken;
      const tid = team.owner.tenant.id;
      const removeOwner = await t.call('DELETE', `/api/auth/tenants/${tid}/members/${team.owner.user.id}`, {
        token: adminToken,
      });
      assert.equal(removeOwner.json().code, 'AUTH_ROLE_FORBIDDEN');
      const demoteOwner = await t.call('PATCH', `/api/auth/tenants/${tid}/members/${team.owner.user.id}`, {
        token: adminToken,
        body: { role: 'member' },
      });
      assert.equal(demoteOwner.json().code, 'AUTH_ROLE_FORBIDDEN');
      const selfPromote = await t.call('PATCH', `/api/auth/tenants/${tid}/members/${team.joiner.user.id}`, {
        token: adminToken,
        body: { role: 'owner' },
      });
      assert.equal(selfPromote.json().code, 'AUTH_ROLE_FORBIDDEN');
      const inviteOwner = await t.call('POST', `/api/auth/tenants/${tid}/invitations`, {
        token: adminToken,
        body: { email: 'boss@example.com', role: 'owner' },
      });
      assert.equal(inviteOwner.json().code, 'AUTH_ROLE_FORBIDDEN');
    });

    test('role change and removal revoke the member’s tokens; the last owner cannot leave', async () => {
      const { owner, joiner, joinerInTenant } = await teamWith('member');
      const tid = owner.tenant.id;
      const { cursor } = (await t.internal('GET', '/internal/revocations')).json();
      const promote = await t.call('PATCH', `/api/auth/tenants/${tid}/members/${joiner.user.id}`, {
        token: owner.accessToken,
        body: { role: 'admin' },
      });
      assert.equal(promote.statusCode, 204);
      const events = (await t.internal('GET', `/internal/revocations?after=${cursor}`)).json().events;
      const watermark = events.find(
        (e: { type: string; sub?: string }) => e.type === 'user' && e.sub === joiner.user.id,
      );
      assert.ok(watermark.notBefore > claimsOf(joinerInTenant.accessToken).iat);
      // The refresh token still works and now carries the new role.
      const refreshed = await t.call('POST', '/api/auth/refresh', {
        body: { refreshToken: joinerInTenant.refreshToken },
      });
      assert.deepEqual(claimsOf(refreshed.json().accessToken).roles, ['admin']);

      const remove = await t.call('DELETE', `/api/auth/tenants/${tid}/members/${joiner.user.id}`, {
        token: owner.accessToken,
      });
      assert.equal(remove.statusCode, 204);
      const after = await t.call('POST', '/api/auth/refresh', {
        body: { refreshToken: refreshed.json().refreshToken },
      });
      assert.equal(after.statusCode, 401);
      const check = await t.internal('GET', `/internal/users/${joiner.user.id}?tenant=${tid}`);
      assert.equal(check.json().member, false);

      const leave = await t.call('DELETE', `/api/auth/tenants/${tid}/members/${owner.user.id}`, {
        token: owner.accessToken,
      });
      assert.equal(leave.statusCode, 409);
      assert.equal(leave.json().code, 'AUTH_LAST_OWNER');
      const demote = await t.call('PATCH', `/api/auth/tenants/${tid}/members/${owner.user.id}`, {
        token: owner.accessToken,
        body: { role: 'member' },
      });
      assert.equal(demote.json().code, 'AUTH_LAST_OWNER');
    });

    test('a member may leave; switching to a tenant one does not belong to is refused', async () => {
      const { owner, joiner, joinerInTenant } = await teamWith('member');
      const leave = await t.call('DELETE', `/api/auth/tenants/${owner.tenant.id}/members/${joiner.user.id}`, {
        token: joinerInTenant.accessToken,
      });
      assert.equal(leave.statusCode, 204);
      const fresh = await login(joiner.email);
      const sw = await t.call('POST', '/api/auth/switch-tenant', {
        token: fresh.accessToken,
        body: { tenantId: owner.tenant.id },
      });
      assert.equal(sw.statusCode, 404);
      assert.equal(sw.json().code, 'AUTH_TENANT_NOT_FOUND');
    });

    test('invitations can be listed and cancelled', async () => {
      const owner = await t.registerUser('owner');
      const tid = owner.tenant.id;
      const created = await t.call('POST', `/api/auth/tenants/${tid}/invitations`, {
        token: owner.accessToken,
        body: { email: 'later@example.com', role: 'member' },
      });
      const id = created.json().id;
      const list = await t.call('GET', `/api/auth/tenants/${tid}/invitations`, { token: owner.accessToken });
      assert.deepEqual(
        list.json().map((i: { id: string }) => i.id),
        [id],
      );
      assert.equal(
        (await t.call('DELETE', `/api/auth/tenants/${tid}/invitations/${id}`, { token: owner.accessToken }))
          .statusCode,
        204,
      );
      assert.equal(
        (await t.call('DELETE', `/api/auth/tenants/${tid}/invitations/${id}`, { token: owner.accessToken }))
          .statusCode,
        404,
      );
      const created2 = await t.call('POST', '/api/auth/tenants', {
        token: owner.accessToken,
        body: { name: 'Second' },
      });
      assert.equal(created2.statusCode, 201);
      assert.equal(created2.json().role, 'owner');
    });
  });
}
