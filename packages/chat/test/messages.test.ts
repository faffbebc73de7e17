import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BACKENDS,
  type Conversation,
  type Message,
  newTenant,
  newUser,
  STARTUP,
  sleep,
  startChat,
  type TestChat,
  type TestUser,
} from './helpers.ts';

interface Page {
  messages: Message[];
  hasMore: boolean;
  since?: number;
  lastSeq: number;
}

for (const backend of BACKENDS) {
  describe(`messages (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestChat;
    before(async () => {
      t = await startChat({}, backend);
    }, STARTUP);
    after(() => t?.close());

    async function channel(owner: TestUser, members: TestUser[] = []): Promise<string> {
      const c = await t.ok<Conversation>('POST', '/api/chat/conversations', owner, {
        kind: 'private',
        name: `room-${Math.random().toString(36).slice(2)}`,
        members: members.map((m) => m.sub),
      });
      return `/api/chat/conversations/${c.id}`;
    }

    it('sends, edits (editedAt), deletes (tombstone), threads, reactions and mentions', async () => {
      const tid = newTenant();
      const [ada, bob] = [newUser(tid), newUser(tid)];
      const stranger = newUser(tid);
      const base = await channel(ada, [bob]);
      const body = `hi @${bob.sub} and @${stranger.sub} <b>not html</b>`;
      const sent = await t.ok<Message>('POST', `${base}/messages`, ada, { body });
      assert.equal(sent.body, body, 'stored as sent');
      assert.deepEqual(sent.mentions, [bob.sub], 'only members are mentioned');
      assert.equal(sent.editedAt, null);

      const edited = await t.ok<Message>('PATCH', `${base}/messages/${sent.id}`, ada, { body: 'hello' });
      assert.ok(edited.editedAt !== null);
      assert.deepEqual(edited.mentions, []);
      assert.ok(edited.version > sent.version);
      const notYours = await t.call('PATCH', `${base}/messages/${sent.id}`, {
        user: bob,
        body: { body: 'x' },
      });
      assert.equal(notYours.json().code, 'CHAT_NOT_AUTHOR');

      const reply = await t.ok<Message>('POST', `${base}/messages`, bob, {
        body: 'in thread',
        parentId: sent.id,
      });
      assert.equal(reply.parentId, sent.id);
      const nested = await t.call('POST', `${base}/messages`, {
        user: ada,
        body: { body: 'deeper', parentId: reply.id },
      });
      assert.equal(nested.statusCode, 400);
      const thread = await t.ok<Page>('GET', `${base}/messages?thread=${sent.id}`, ada);
      assert.deepEqual(
        thread.messages.map((m) => m.id),
        [sent.id, reply.id],
      );

      const thumbs = encodeURIComponent('👍');
      await t.ok('PUT', `${base}/messages/${sent.id}/reactions/${thumbs}`, bob);
      const twice = await t.ok<Message>('PUT', `${base}/messages/${sent.id}/reactions/${thumbs}`, bob);
      await t.ok('PUT', `${base}/messages/${sent.id}/reactions/party_parrot`, ada);
      assert.deepEqual(twice.reactions, { '👍': [bob.sub] });
      const removed = await t.ok<Message>('DELETE', `${base}/messages/${sent.id}/reactions/${thumbs}`, bob);
      assert.deepEqual(removed.reactions, { party_parrot: [ada.sub] });

      const deleted = await t.ok<Message>('DELETE', `${base}/messages/${sent.id}`, ada);
      assert.ok(deleted.deletedAt !== null);
      assert.equal(deleted.body, '');
      assert.deepEqual(deleted.reactions, {});
      const history = await t.ok<Page>('GET', `${base}/messages`, bob);
      assert.deepEqual(
        history.messages.map((m) => [m.id, m.body]),
        [
          [sent.id, ''],
          [reply.id, 'in thread'],
        ],
        'the tombstone keeps its place',
      );
      const again = await t.call('PATCH', `${base}/messages/${sent.id}`, { user: ada, body: { body: 'x' } });
      assert.equal(again.json().code, 'CHAT_MESSAGE_DELETED');
    });

    it('an Idempotency-Key makes a retried send one message, even when the retries race', async () => {
      const ada = newUser(newTenant());
      const base = await channel(ada);
      const headers = { 'idempotency-key': 'send-1' };
      const first = await t.call('POST', `${base}/messages`, { user: ada, body: { body: 'once' }, headers });
      assert.equal(first.statusCode, 201);
      const retry = await t.call('POST', `${base}/messages`, { user: ada, body: { body: 'once' }, headers });
      assert.equal(retry.statusCode, 200);
      assert.equal(retry.headers['idempotent-replayed'], 'true');
      assert.equal(retry.json().id, first.json().id);
      const other = await t.call('POST', `${base}/messages`, {
        user: ada,
        body: { body: 'different' },
        headers,
      });
      assert.equal(other.json().code, 'CHAT_IDEMPOTENCY_MISMATCH');

      const racing = await Promise.all(
        Array.from({ length: 8 }, () =>
          t.call('POST', `${base}/messages`, {
            user: ada,
            body: { body: 'race' },
            headers: { 'idempotency-key': 'send-2' },
          }),
        ),
      );
      assert.deepEqual(
        [...new Set(racing.map((r) => r.statusCode))].sort(),
        [200, 201].filter((code) => racing.some((r) => r.statusCode === code)),
      );
      assert.equal(new Set(racing.map((r) => r.json().id)).size, 1);
      const history = await t.ok<Page>('GET', `${base}/messages`, ada);
      assert.equal(history.messages.filter((m) => m.body === 'race').length, 1);
      assert.equal(history.messages.length, 2);
    });

    it('pages before/after lose and repeat nothing while 1,000 messages are inserted concurrently', {
      timeout: 600_000,
    }, async () => {
      const tid = newTenant();
      const writers = Array.from({ length: 10 }, () => newUser(tid));
      const [reader] = writers as [TestUser];
      // Premium: 600 messages per user per minute, so the 100 sends of each writer are not limited.
      t.plan(tid, { tier: 'premium' });
      const base = await channel(reader, writers.slice(1));
      const seed = await t.ok<Message>('POST', `${base}/messages`, reader, { body: 'seed' });
      let done = false;
      const inserting = (async () => {
        // 1,000 sends, 10 at a time (one per writer), while the reader pages forward.
        for (let round = 0; round < 100; round++) {
          await Promise.all(
            writers.map((w, i) => t.ok('POST', `${base}/messages`, w, { body: `m ${round} ${i}` })),
          );
        }
      })().finally(() => {
        done = true;
      });
      const seen: Message[] = [seed];
      let cursor = seed.id;
      for (;;) {
        const finished = done;
        const page = await t.ok<Page>('GET', `${base}/messages?after=${cursor}&limit=37`, reader);
        seen.push(...page.messages);
        if (page.messages.length > 0) cursor = (page.messages[page.messages.length - 1] as Message).id;
        if (finished && !page.hasMore) break;
        if (!page.hasMore) await sleep(20);
      }
      await inserting;
      assert.equal(seen.length, 1001);
      assert.equal(new Set(seen.map((m) => m.id)).size, 1001, 'no duplicates');
      const seqs = seen.map((m) => m.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        'in order',
      );

      // Backwards from the newest, in pages of 100: the same messages.
      const back: Message[] = [];
      let page = await t.ok<Page>('GET', `${base}/messages?limit=100`, reader);
      back.unshift(...page.messages);
      while (page.hasMore) {
        page = await t.ok<Page>(
          'GET',
          `${base}/messages?limit=100&before=${(back[0] as Message).id}`,
          reader,
        );
        back.unshift(...page.messages);
      }
      assert.deepEqual(
        back.map((m) => m.id),
        seen.map((m) => m.id),
      );
    });

    it('since returns every change after a cursor: creates, edits, deletes, reactions', async () => {
      const tid = newTenant();
      const [ada, bob] = [newUser(tid), newUser(tid)];
      const base = await channel(ada, [bob]);
      const a = await t.ok<Message>('POST', `${base}/messages`, ada, { body: 'a' });
      const b = await t.ok<Message>('POST', `${base}/messages`, ada, { body: 'b' });
      const start = await t.ok<Page>('GET', `${base}/messages?since=0`, bob);
      assert.deepEqual(
        start.messages.map((m) => m.id),
        [a.id, b.id],
      );
      const cursor = start.since as number;
      await t.ok('PATCH', `${base}/messages/${a.id}`, ada, { body: 'a2' });
      await t.ok('PUT', `${base}/messages/${b.id}/reactions/tada`, bob);
      const c = await t.ok<Message>('POST', `${base}/messages`, bob, { body: 'c' });
      await t.ok('DELETE', `${base}/messages/${c.id}`, bob);
      const changes = await t.ok<Page>('GET', `${base}/messages?since=${cursor}&limit=2`, bob);
      assert.equal(changes.hasMore, true);
      const rest = await t.ok<Page>('GET', `${base}/messages?since=${changes.since}`, bob);
      assert.equal(rest.hasMore, false);
      const all = [...changes.messages, ...rest.messages];
      assert.deepEqual(
        all.map((m) => [m.id, m.body]),
        [
          [a.id, 'a2'],
          [b.id, 'b'],
          [c.id, ''],
        ],
      );
      assert.deepEqual(all[1]?.reactions, { tada: [bob.sub] });
      assert.equal(rest.since, rest.lastSeq);
      const nothing = await t.ok<Page>('GET', `${base}/messages?since=${rest.since}`, bob);
      assert.deepEqual(nothing.messages, []);
    });

    it('unread and mention counts follow send, edit, delete and read', async () => {
      const tid = newTenant();
      const [ada, bob] = [newUser(tid), newUser(tid)];
      const base = await channel(ada, [bob]);
      const id = base.split('/').pop();
      const counts = async (u: TestUser) => {
        const list = await t.ok<{ conversations: Conversation[] }>('GET', '/api/chat/conversations', u);
        const c = list.conversations.find((x) => x.id === id) as Conversation;
        return [c.unread, c.mentions];
      };
      await t.ok('POST', `${base}/messages`, ada, { body: 'one' });
      const two = await t.ok<Message>('POST', `${base}/messages`, ada, { body: `two @${bob.sub}` });
      const three = await t.ok<Message>('POST', `${base}/messages`, ada, { body: 'three' });
      assert.deepEqual(await counts(bob), [3, 1]);
      assert.deepEqual(await counts(ada), [0, 0], 'your own messages are read');
      await t.ok('PATCH', `${base}/messages/${two.id}`, ada, { body: 'two, no mention' });
      assert.deepEqual(await counts(bob), [3, 0]);
      await t.ok('PATCH', `${base}/messages/${three.id}`, ada, { body: `three @${bob.sub}` });
      assert.deepEqual(await counts(bob), [3, 1]);
      await t.ok('DELETE', `${base}/messages/${three.id}`, ada);
      assert.deepEqual(await counts(bob), [2, 0]);
      const marker = await t.ok<{ lastReadSeq: number }>('PUT', `${base}/read`, bob, { seq: two.seq });
      assert.equal(marker.lastReadSeq, two.seq);
      assert.deepEqual(await counts(bob), [0, 0]);
      // The marker never moves back.
      await t.ok('PUT', `${base}/read`, bob, { seq: 0 });
      assert.deepEqual(await counts(bob), [0, 0]);
      await t.ok('POST', `${base}/messages`, ada, { body: `four @${bob.sub}` });
      assert.deepEqual(await counts(bob), [1, 1]);
    });

    it('limits messages per user per minute by the tier, and the tenant quota by the plan (429, Retry-After)', async () => {
      const tid = newTenant();
      const [ada, bob] = [newUser(tid), newUser(tid)];
      const base = await channel(ada, [bob]);
      for (let i = 0; i < 30; i++) await t.ok('POST', `${base}/messages`, ada, { body: `m${i}` });
      const over = await t.call('POST', `${base}/messages`, { user: ada, body: { body: 'one too many' } });
      assert.equal(over.statusCode, 429);
      assert.equal(over.json().code, 'CHAT_RATE_LIMITED');
      assert.match(String(over.headers['retry-after']), /^[1-9][0-9]*$/);
      // Per user: bob still sends; a better plan lifts ada's limit.
      await t.ok('POST', `${base}/messages`, bob, { body: 'bob' });
      t.plan(tid, { tier: 'standard' });
      await t.ok('POST', `${base}/messages`, ada, { body: 'standard' });
      // The quota: 32 messages stored, a plan allowing 32 per period refuses the next.
      t.plan(tid, { tier: 'premium', messageQuota: 32 });
      const quota = await t.call('POST', `${base}/messages`, { user: bob, body: { body: 'over quota' } });
      assert.equal(quota.statusCode, 429);
      assert.equal(quota.json().code, 'CHAT_QUOTA_EXCEEDED');
    });

    it("searches the caller's conversations only", async () => {
      const tid = newTenant();
      const [ada, bob] = [newUser(tid), newUser(tid)];
      const mine = await channel(ada);
      const theirs = await channel(bob);
      await t.ok('POST', `${mine}/messages`, ada, { body: 'the quarterly zebra report' });
      await t.ok('POST', `${theirs}/messages`, bob, { body: 'a secret zebra plan' });
      const found = await t.ok<{ messages: Message[] }>('GET', '/api/chat/search?q=zebra', ada);
      assert.deepEqual(
        found.messages.map((m) => m.body),
        ['the quarterly zebra report'],
      );
      const none = await t.ok<{ messages: Message[] }>('GET', '/api/chat/search?q=giraffe', ada);
      assert.deepEqual(none.messages, []);
    });
  });
}
