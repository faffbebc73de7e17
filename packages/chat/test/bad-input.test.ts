import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type Conversation,
  type Message,
  newTenant,
  newUser,
  STARTUP,
  startChat,
  type TestChat,
} from './helpers.ts';

describe('bad input: 400 problem+json with a stable code, nothing stored', () => {
  let t: TestChat;
  before(async () => {
    t = await startChat();
  }, STARTUP);
  after(() => t?.close());

  it('refuses oversized bodies, unknown fields, bad cursors, bad emoji, bad ids and JSON bombs', async () => {
    const ada = newUser(newTenant());
    const c = await t.ok<Conversation>('POST', '/api/chat/conversations', ada, { kind: 'public', name: 'x' });
    const base = `/api/chat/conversations/${c.id}`;
    const m = await t.ok<Message>('POST', `${base}/messages`, ada, { body: 'kept' });
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const cases: [
      string,
      Parameters<TestChat['call']>[0],
      string,
      { body?: unknown; raw?: string },
      string,
    ][] = [
      [
        '16 KiB + 1 byte',
        'POST',
        `${base}/messages`,
        { body: { body: `${'é'.repeat(8192)}x` } },
        'CHAT_MESSAGE_TOO_LARGE',
      ],
      ['empty body text', 'POST', `${base}/messages`, { body: { body: '   ' } }, 'CHAT_VALIDATION'],
      [
        'unknown field',
        'POST',
        `${base}/messages`,
        { body: { body: 'x', authorId: 'someone' } },
        'CHAT_VALIDATION',
      ],
      [
        'unknown field on create',
        'POST',
        '/api/chat/conversations',
        { body: { kind: 'public', name: 'y', tenantId: 'x' } },
        'CHAT_VALIDATION',
      ],
      ['wrong type', 'POST', `${base}/messages`, { body: { body: { html: '<b>' } } }, 'CHAT_VALIDATION'],
      ['not JSON', 'POST', `${base}/messages`, { raw: '{"body": "x"' }, 'CHAT_MALFORMED_REQUEST'],
      [
        'JSON bomb (deep nesting)',
        'POST',
        `${base}/messages`,
        { raw: `{"body": ${deep}}` },
        'CHAT_VALIDATION',
      ],
      [
        'cursor not a message of it',
        'GET',
        `${base}/messages?before=${crypto.randomUUID()}`,
        {},
        'CHAT_INVALID_CURSOR',
      ],
      ['cursor not an id', 'GET', `${base}/messages?after=1%27%20or%201=1`, {}, 'CHAT_VALIDATION'],
      ['two cursors', 'GET', `${base}/messages?after=${m.id}&since=1`, {}, 'CHAT_INVALID_CURSOR'],
      ['limit over 100', 'GET', `${base}/messages?limit=101`, {}, 'CHAT_VALIDATION'],
      ['unknown query parameter', 'GET', `${base}/messages?tenant=x`, {}, 'CHAT_VALIDATION'],
      [
        'not an emoji',
        'PUT',
        `${base}/messages/${m.id}/reactions/${encodeURIComponent('<script>')}`,
        {},
        'CHAT_INVALID_EMOJI',
      ],
      [
        'two emoji',
        'PUT',
        `${base}/messages/${m.id}/reactions/${encodeURIComponent('👍👍')}`,
        {},
        'CHAT_INVALID_EMOJI',
      ],
      ['conversation id not a uuid', 'GET', '/api/chat/conversations/..%2F..%2Fetc', {}, 'CHAT_VALIDATION'],
      [
        'control characters in a name',
        'POST',
        '/api/chat/conversations',
        { body: { kind: 'public', name: 'a\u0000b' } },
        'CHAT_VALIDATION',
      ],
      ['empty search', 'GET', '/api/chat/search?q=', {}, 'CHAT_VALIDATION'],
      ['bad idempotency key', 'POST', `${base}/messages`, { body: { body: 'x' } }, 'CHAT_VALIDATION'],
    ];
    for (const [what, method, url, input, code] of cases) {
      const headers = what === 'bad idempotency key' ? { 'idempotency-key': 'has space' } : undefined;
      const res = await t.call(method, url, {
        user: ada,
        ...input,
        ...(headers === undefined ? {} : { headers }),
      });
      assert.equal(res.statusCode, 400, `${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
      assert.equal(res.json().code, code, what);
    }
    const history = await t.ok<{ messages: Message[] }>('GET', `${base}/messages`, ada);
    assert.deepEqual(
      history.messages.map((x) => x.body),
      ['kept'],
    );
    // A body exactly at the cap is fine.
    await t.ok('POST', `${base}/messages`, ada, { body: 'é'.repeat(8192) });
  });
});
