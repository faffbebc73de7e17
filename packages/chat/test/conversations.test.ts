import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BACKENDS,
  type Conversation,
  newTenant,
  newUser,
  STARTUP,
  startChat,
  type TestChat,
} from './helpers.ts';

for (const backend of BACKENDS) {
  describe(`conversations (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestChat;
    before(async () => {
      t = await startChat({}, backend);
    }, STARTUP);
    after(() => t?.close());

    it('creates public and private channels; the creator owns them; names are unique per tenant', async () => {
      const tid = newTenant();
      const ada = newUser(tid);
      const channel = await t.ok<Conversation>('POST', '/api/chat/conversations', ada, {
        kind: 'public',
        name: 'general',
      });
      assert.equal(channel.kind, 'public');
      const again = await t.call('POST', '/api/chat/conversations', {
        user: ada,
        body: { kind: 'private', name: 'GENERAL' },
      });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'CHAT_NAME_TAKEN');
      // Another tenant has its own namespace.
      await t.ok('POST', '/api/chat/conversations', newUser(newTenant()), {
        kind: 'public',
        name: 'general',
      });
      const members = await t.ok<{ members: { userId: string; role: string }[] }>(
        'GET',
        `/api/chat/conversations/${channel.id}/members`,
        ada,
      );
      assert.deepEqual(
        members.members.map((m) => [m.userId, m.role]),
        [[ada.sub, 'owner']],
      );
    });

    it('finds a direct conversation again by its member set, whoever starts it', async () => {
      const tid = newTenant();
      const [a, b, c] = [newUser(tid), newUser(tid), newUser(tid)];
      const first = await t.call('POST', '/api/chat/conversations/direct', {
        user: a,
        body: { members: [b.sub] },
      });
      assert.equal(first.statusCode, 201);
      const second = await t.call('POST', '/api/chat/conversations/direct', {
        user: b,
        body: { members: [a.sub, b.sub] },
      });
      assert.equal(second.statusCode, 200);
      assert.equal(second.json().id, first.json().id);
      const group = await t.ok<Conversation>('POST', '/api/chat/conversations/direct', a, {
        members: [b.sub, c.sub],
      });
      assert.notEqual(group.id, first.json().id);
      const fromC = await t.ok<Conversation>('POST', '/api/chat/conversations/direct', c, {
        members: [b.sub, a.sub],
      });
      assert.equal(fromC.id, group.id);
      // Concurrent starts of one new conversation end in one conversation.
      const d = newUser(tid);
      const racing = await Promise.all(
        [a, d, a, d].map((u) =>
          t.ok<Conversation>('POST', '/api/chat/conversations/direct', u, { members: [a.sub, d.sub] }),
        ),
      );
      assert.equal(new Set(racing.map((r) => r.id)).size, 1);
      const leave = await t.call('POST', `/api/chat/conversations/${group.id}/leave`, { user: a });
      assert.equal(leave.json().code, 'CHAT_DIRECT_FIXED');
    });

    it('join, leave, invite, remove and roles follow the rules', async () => {
      const tid = newTenant();
      const [owner, admin, member, outsider] = [newUser(tid), newUser(tid), newUser(tid), newUser(tid)];
      const priv = await t.ok<Conversation>('POST', '/api/chat/conversations', owner, {
        kind: 'private',
        name: 'secret',
        members: [member.sub],
      });
      const base = `/api/chat/conversations/${priv.id}`;
      // A private channel does not exist for a non-member: 404, and join is no way in.
      assert.equal((await t.call('GET', base, { user: outsider })).statusCode, 404);
      assert.equal((await t.call('POST', `${base}/join`, { user: outsider })).statusCode, 404);
      // Members of a private channel cannot invite; owners can, with a role.
      const byMember = await t.call('POST', `${base}/members`, {
        user: member,
        body: { userId: outsider.sub },
      });
      assert.equal(byMember.json().code, 'CHAT_ROLE_FORBIDDEN');
      assert.equal(
        (await t.call('POST', `${base}/members`, { user: owner, body: { userId: admin.sub, role: 'admin' } }))
          .statusCode,
        201,
      );
      assert.equal(
        (await t.call('POST', `${base}/members`, { user: owner, body: { userId: admin.sub } })).statusCode,
        204,
      );
      // Admins remove members but not owners; only owners change roles.
      assert.equal(
        (await t.call('DELETE', `${base}/members/${owner.sub}`, { user: admin })).json().code,
        'CHAT_ROLE_FORBIDDEN',
      );
      assert.equal(
        (
          await t.call('PATCH', `${base}/members/${member.sub}`, { user: admin, body: { role: 'admin' } })
        ).json().code,
        'CHAT_ROLE_FORBIDDEN',
      );
      assert.equal(
        (await t.call('DELETE', `${base}/members/${member.sub}`, { user: admin })).statusCode,
        204,
      );
      assert.equal((await t.call('GET', base, { user: member })).statusCode, 404);
      // The last owner cannot leave while others remain, until someone else owns it.
      assert.equal((await t.call('POST', `${base}/leave`, { user: owner })).json().code, 'CHAT_LAST_OWNER');
      await t.ok('PATCH', `${base}/members/${admin.sub}`, owner, { role: 'owner' });
      assert.equal((await t.call('POST', `${base}/leave`, { user: owner })).statusCode, 204);

      const pub = await t.ok<Conversation>('POST', '/api/chat/conversations', owner, {
        kind: 'public',
        name: 'open',
      });
      const listed = await t.ok<{ conversations: Conversation[] }>(
        'GET',
        '/api/chat/conversations/public',
        outsider,
      );
      assert.ok(listed.conversations.some((c) => c.id === pub.id));
      assert.ok(!listed.conversations.some((c) => c.id === priv.id));
      // A public channel is visible, but its messages are for members.
      const read = await t.call('GET', `/api/chat/conversations/${pub.id}/messages`, { user: outsider });
      assert.equal(read.json().code, 'CHAT_NOT_A_MEMBER');
      assert.equal(
        (await t.call('POST', `/api/chat/conversations/${pub.id}/join`, { user: outsider })).statusCode,
        204,
      );
      assert.equal(
        (await t.call('GET', `/api/chat/conversations/${pub.id}/messages`, { user: outsider })).statusCode,
        200,
      );
    });

    it('archives: read-only afterwards, for owners and admins only', async () => {
      const tid = newTenant();
      const [owner, member] = [newUser(tid), newUser(tid)];
      const c = await t.ok<Conversation>('POST', '/api/chat/conversations', owner, {
        kind: 'public',
        name: 'old',
        members: [member.sub],
      });
      const base = `/api/chat/conversations/${c.id}`;
      await t.ok('POST', `${base}/messages`, member, { body: 'before' });
      assert.equal(
        (await t.call('POST', `${base}/archive`, { user: member })).json().code,
        'CHAT_ROLE_FORBIDDEN',
      );
      const archived = await t.ok<{ archivedAt: string | null }>('POST', `${base}/archive`, owner);
      assert.ok(archived.archivedAt !== null);
      assert.equal(
        (await t.call('POST', `${base}/messages`, { user: member, body: { body: 'after' } })).json().code,
        'CHAT_ARCHIVED',
      );
      const history = await t.ok<{ messages: { body: string }[] }>('GET', `${base}/messages`, member);
      assert.deepEqual(
        history.messages.map((m) => m.body),
        ['before'],
      );
      const reopened = await t.ok<{ archivedAt: string | null }>('PATCH', base, owner, { archived: false });
      assert.equal(reopened.archivedAt, null);
    });
  });
}
