import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CHAT_CLOSE } from '@gatehouse/kit';
import {
  type Conversation,
  connectSocket,
  type Message,
  newTenant,
  newUser,
  openSocket,
  type Received,
  STARTUP,
  sleep,
  startChat,
  type TestChat,
  type TestUser,
} from './helpers.ts';

const of =
  (type: string, pred: (e: Record<string, unknown>) => boolean = () => true) =>
  (e: Received) =>
    e.type === type && pred(e as unknown as Record<string, unknown>);

describe('real time', () => {
  let t: TestChat;
  before(async () => {
    t = await startChat({ CHAT_WS_PING_SECONDS: '1', CHAT_TYPING_SECONDS: '2' });
  }, STARTUP);
  after(() => t?.close());

  async function room(owner: TestUser, members: TestUser[]): Promise<string> {
    const c = await t.ok<Conversation>('POST', '/api/chat/conversations', owner, {
      kind: 'private',
      name: `rt-${Math.random().toString(36).slice(2)}`,
      members: members.map((m) => m.sub),
    });
    return c.id;
  }

  it('delivers message, reaction, read and member events to members; typing to the others only', async () => {
    const tid = newTenant();
    const [ada, bob, cy] = [newUser(tid), newUser(tid), newUser(tid)];
    const id = await room(ada, [bob]);
    const [sa, sb] = [await openSocket(t, ada), await openSocket(t, bob)];
    const base = `/api/chat/conversations/${id}`;
    const sent = await t.ok<Message>('POST', `${base}/messages`, ada, { body: 'hello' });
    const created = await sb.next(of('message.created'));
    assert.equal((created as unknown as { message: Message }).message.id, sent.id);
    await sa.next(of('message.created'));
    await t.ok('PATCH', `${base}/messages/${sent.id}`, ada, { body: 'hello!' });
    await sb.next(of('message.edited', (e) => (e.message as Message).body === 'hello!'));
    await t.ok('PUT', `${base}/messages/${sent.id}/reactions/wave`, bob);
    await sa.next(of('reaction.added', (e) => e.emoji === 'wave' && e.userId === bob.sub));
    await t.ok('DELETE', `${base}/messages/${sent.id}/reactions/wave`, bob);
    await sa.next(of('reaction.removed'));
    await t.ok('PUT', `${base}/read`, bob, { seq: sent.seq });
    await sa.next(of('read.moved', (e) => e.userId === bob.sub));
    await t.ok('DELETE', `${base}/messages/${sent.id}`, ada);
    await sb.next(of('message.deleted'));

    // A new member's open socket is subscribed at once.
    const sc = await openSocket(t, cy);
    await t.ok('POST', `${base}/members`, ada, { userId: cy.sub });
    await sc.next(of('member.joined', (e) => e.userId === cy.sub));
    sb.send({ type: 'typing', conversationId: id });
    const typing = await sa.next(of('typing', (e) => e.userId === bob.sub));
    assert.ok(Date.parse((typing as { expiresAt: string }).expiresAt) > Date.now());
    await sc.next(of('typing'));
    await sleep(100);
    assert.ok(!sb.events.some((e) => e.type === 'typing'), 'the typist does not get their own typing');
    for (const s of [sa, sb, sc]) s.ws.close();
  });

  it('a removed member stops receiving at once; a stranger never receives', async () => {
    const tid = newTenant();
    const [ada, bob, eve] = [newUser(tid), newUser(tid), newUser(tid)];
    const id = await room(ada, [bob]);
    const [sb, se] = [await openSocket(t, bob), await openSocket(t, eve)];
    const base = `/api/chat/conversations/${id}`;
    await t.ok('DELETE', `${base}/members/${bob.sub}`, ada);
    await sb.next(of('member.left', (e) => e.userId === bob.sub));
    await t.ok('POST', `${base}/messages`, ada, { body: 'after removal' });
    se.send({ type: 'typing', conversationId: id });
    await se.next(of('error', (e) => e.detail === 'no such conversation'));
    await sleep(200);
    assert.ok(!sb.events.some((e) => e.type === 'message.created'));
    assert.ok(!se.events.some((e) => e.type === 'message.created' || e.type === 'member.left'));
    sb.ws.close();
    se.ws.close();
  });

  it('sends over the socket, with the rate limit as an error event', async () => {
    const tid = newTenant();
    const ada = newUser(tid);
    const id = await room(ada, []);
    const sa = await openSocket(t, ada);
    sa.send({ type: 'message.send', conversationId: id, body: 'via socket', ref: 'r1' });
    const ack = await sa.next(of('sent', (e) => e.ref === 'r1'));
    assert.equal((ack as unknown as { message: Message }).message.body, 'via socket');
    for (let i = 0; i < 30; i++)
      sa.send({ type: 'message.send', conversationId: id, body: `m${i}`, ref: `n${i}` });
    const limited = await sa.next(of('error', (e) => e.code === 'CHAT_RATE_LIMITED'));
    assert.ok((limited as { retryAfterSeconds: number }).retryAfterSeconds >= 1);
    sa.ws.close();
  });

  it('refuses an upgrade without a valid assertion, and client identity headers count for nothing', async () => {
    const base = (await t.listen()).replace('http', 'ws');
    await assert.rejects(
      connectSocket(`${base}/api/chat/ws`, { 'x-user-id': 'u', 'x-tenant-id': 't' }),
      /upgrade refused: 401/,
    );
    const user = newUser(newTenant());
    // An assertion for another path (a REST call) is not one for the socket.
    await assert.rejects(
      connectSocket(`${base}/api/chat/ws`, t.headersFor(user, 'GET', '/api/chat/conversations')),
      /upgrade refused: 401/,
    );
    await assert.rejects(
      connectSocket(`${base}/api/chat/other`, t.headersFor(user, 'GET', '/api/chat/other')),
      /404/,
    );
  });

  it('closes with 4401 when the token expires, and refuses one that has', async () => {
    const user = newUser(newTenant());
    const base = (await t.listen()).replace('http', 'ws');
    const now = Math.floor(Date.now() / 1000);
    const socket = await connectSocket(`${base}/api/chat/ws`, assertionWithTokenExp(t, user, now + 1));
    const closed = await socket.closed;
    assert.equal(closed.code, CHAT_CLOSE.tokenExpired);
    await assert.rejects(
      connectSocket(`${base}/api/chat/ws`, assertionWithTokenExp(t, user, now - 5)),
      /401/,
    );
  });

  it('closes on a revocation of the user, and after repeated protocol errors', async () => {
    const user = newUser(newTenant());
    const s1 = await openSocket(t, user);
    t.chat.hub.revoke({ type: 'user', sub: user.sub, notBefore: Math.floor(Date.now() / 1000) + 1 });
    assert.equal((await s1.closed).code, CHAT_CLOSE.tokenExpired);
    const s2 = await openSocket(t, user);
    for (let i = 0; i < 5; i++) s2.ws.send('not json');
    assert.equal((await s2.closed).code, CHAT_CLOSE.protocolError);
  });

  it('pings, and drops a client that stops answering', async () => {
    const user = newUser(newTenant());
    const s = await openSocket(t, user);
    let pings = 0;
    s.ws.on('ping', () => pings++);
    await sleep(1500);
    assert.ok(pings >= 1);
    // A client that stops reading (so never answers a ping) is dropped by the server.
    const dead = await openSocket(t, newUser(newTenant()));
    const open = t.chat.hub.size;
    (dead.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const until = Date.now() + 5000;
    while (t.chat.hub.size >= open && Date.now() < until) await sleep(100);
    assert.equal(t.chat.hub.size, open - 1, 'dropped within a few ping rounds');
    dead.ws.terminate();
    s.ws.close();
  });

  it('closes a client whose buffer overflows with 4408 (it catches up with since)', STARTUP, async () => {
    const small = await startChat({ CHAT_WS_MAX_BUFFERED_BYTES: '4096' });
    try {
      const tid = newTenant();
      const [ada, slow] = [newUser(tid), newUser(tid)];
      small.plan(tid, { tier: 'premium' });
      const c = await small.ok<Conversation>('POST', '/api/chat/conversations', ada, {
        kind: 'private',
        name: 'flood',
        members: [slow.sub],
      });
      const s = await openSocket(small, slow);
      (s.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const big = 'x'.repeat(4000);
      const closed = s.closed;
      let code: number | undefined;
      void closed.then((r) => {
        code = r.code;
      });
      for (let i = 0; i < 200 && code === undefined; i++) {
        await small.ok('POST', `/api/chat/conversations/${c.id}/messages`, ada, { body: `${i} ${big}` });
      }
      (s.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      assert.equal((await closed).code, CHAT_CLOSE.tooSlow);
      const dropped = await small.call('GET', '/metrics');
      assert.match(dropped.body, /chat_ws_events_dropped_total\{[^}]*reason="slow_client"[^}]*\} [1-9]/);
    } finally {
      await small.close();
    }
  });
});

/** An assertion carrying `tokenExp`, as the gateway signs it (kit's assertion format, HS256). */
function assertionWithTokenExp(t: TestChat, user: TestUser, tokenExp: number): Record<string, string> {
  const key = t.config.assertionKeys[0] as { kid: string; secret: string };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const requestId = `exp-${tokenExp}-${Math.random()}`;
  const input = `${b64({ alg: 'HS256', typ: 'gatehouse-assertion+jwt', kid: key.kid })}.${b64({
    iss: 'gatehouse-gateway',
    sub: user.sub,
    tid: user.tid,
    roles: [],
    tokenExp,
    rid: requestId,
    htm: 'GET',
    htu: '/api/chat/ws',
    iat: now,
    exp: now + 60,
  })}`;
  const sig = createHmac('sha256', key.secret).update(input).digest('base64url');
  return { 'x-request-id': requestId, 'x-gateway-assertion': `${input}.${sig}` };
}
