import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type Conversation,
  type Message,
  newTenant,
  newUser,
  openSocket,
  STARTUP,
  sleep,
  startChat,
  type TestChat,
} from './helpers.ts';

/**
 * Tenant B's user knows the ids of tenant A's conversation and message (leaked
 * in a screenshot, guessed, logged) and uses them through every door. Each
 * must answer as if the id did not exist (404, nothing about it), and nothing
 * of tenant A may reach B's socket.
 */
describe('attack: another tenant uses known ids', () => {
  let t: TestChat;
  before(async () => {
    t = await startChat();
  }, STARTUP);
  after(() => t?.close());

  it('reads, posts, edits, deletes, reacts, joins, invites, marks read, searches and subscribes: 404 and nothing delivered', async () => {
    const a = newTenant();
    const alice = newUser(a);
    const channel = await t.ok<Conversation>('POST', '/api/chat/conversations', alice, {
      kind: 'public',
      name: 'plans',
    });
    const base = `/api/chat/conversations/${channel.id}`;
    const secret = await t.ok<Message>('POST', `${base}/messages`, alice, {
      body: 'acquisition target: zeppelin',
    });

    // Mallory acts for tenant B with a valid token of her own; even with alice's user id as the
    // member she names, her assertion's tenant decides.
    const mallory = newUser(newTenant());
    const asAlice = { sub: alice.sub, tid: mallory.tid };
    const socket = await openSocket(t, mallory);
    const attempts: [Parameters<TestChat['call']>[0], string, unknown?][] = [
      ['GET', base],
      ['GET', `${base}/messages`],
      ['GET', `${base}/messages?since=0`],
      ['GET', `${base}/members`],
      ['POST', `${base}/messages`, { body: 'pwned' }],
      ['PATCH', `${base}/messages/${secret.id}`, { body: 'pwned' }],
      ['DELETE', `${base}/messages/${secret.id}`],
      ['PUT', `${base}/messages/${secret.id}/reactions/skull`],
      ['DELETE', `${base}/messages/${secret.id}/reactions/skull`],
      ['POST', `${base}/join`],
      ['POST', `${base}/leave`],
      ['POST', `${base}/archive`],
      ['PATCH', base, { topic: 'pwned' }],
      ['POST', `${base}/members`, { userId: mallory.sub }],
      ['DELETE', `${base}/members/${alice.sub}`],
      ['PATCH', `${base}/members/${mallory.sub}`, { role: 'owner' }],
      ['PUT', `${base}/read`, { seq: 1 }],
    ];
    for (const user of [mallory, asAlice]) {
      for (const [method, url, body] of attempts) {
        const res = await t.call(method, url, { user, ...(body === undefined ? {} : { body }) });
        assert.equal(
          res.statusCode,
          404,
          `${method} ${url} as ${user === mallory ? 'mallory' : 'alice-in-B'}`,
        );
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.doesNotMatch(res.body, /zeppelin|plans/);
      }
    }
    const search = await t.ok<{ messages: Message[] }>('GET', '/api/chat/search?q=zeppelin', mallory);
    assert.deepEqual(search.messages, []);
    const scoped = await t.call('GET', `/api/chat/search?q=zeppelin&conversation=${channel.id}`, {
      user: mallory,
    });
    assert.deepEqual(scoped.json().messages, []);
    const listed = await t.ok<{ conversations: Conversation[] }>(
      'GET',
      '/api/chat/conversations/public',
      mallory,
    );
    assert.deepEqual(listed.conversations, []);
    // A direct conversation "with alice" from tenant B is a different conversation in B.
    const direct = await t.ok<Conversation>('POST', '/api/chat/conversations/direct', mallory, {
      members: [alice.sub],
    });
    assert.notEqual(direct.id, channel.id);

    // The socket: subscribing to A's conversation by id is refused like a conversation that does not exist.
    socket.send({ type: 'typing', conversationId: channel.id });
    socket.send({ type: 'message.send', conversationId: channel.id, body: 'pwned' });
    await t.ok('POST', `${base}/messages`, alice, { body: 'zeppelin, part two' });
    await sleep(200);
    const leaked = socket.events.filter((e) => 'conversationId' in e && e.conversationId === channel.id);
    assert.deepEqual(leaked, [], 'nothing of tenant A delivered');
    assert.equal(socket.events.filter((e) => e.type === 'error').length, 2);
    assert.ok(!JSON.stringify(socket.events).includes('zeppelin'));
    socket.ws.close();

    // And tenant A is untouched.
    const history = await t.ok<{ messages: Message[] }>('GET', `${base}/messages`, alice);
    assert.deepEqual(
      history.messages.map((m) => [m.body, m.reactions]),
      [
        ['acquisition target: zeppelin', {}],
        ['zeppelin, part two', {}],
      ],
    );
  });

  it('identity headers sent by a client are never believed', async () => {
    const res = await t.call('GET', '/api/chat/conversations', {
      headers: { 'x-user-id': newUser(newTenant()).sub, 'x-tenant-id': newTenant(), 'x-user-roles': 'owner' },
    });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'CHAT_UNAUTHENTICATED');
  });
});
