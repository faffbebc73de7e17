import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CHAT_CLOSE, type ChatEvent } from '@gatehouse/kit';
import { createMetricsRegistry } from '@gatehouse/kit/service';
import { captureLogger } from '@gatehouse/kit/testing';
import type { WebSocket } from 'ws';
import type { Client } from './client.ts';
import { Hub } from './hub.ts';

function fakeClient(buffered: { n: number }) {
  const sent: string[] = [];
  const closes: number[] = [];
  const ws = {
    OPEN: 1,
    CONNECTING: 0,
    readyState: 1,
    get bufferedAmount() {
      return buffered.n;
    },
    send: (text: string) => sent.push(text),
    close: (code: number) => closes.push(code),
    terminate: () => {},
  } as unknown as WebSocket;
  const client: Client = {
    ws,
    tenantId: 't',
    userId: 'u',
    jti: undefined,
    connectedAt: 0,
    conversations: new Set(['c']),
    alive: true,
    badFrames: 0,
    lastTyping: new Map(),
  };
  return { client, sent, closes };
}

it('a slow socket loses typing first, then is closed with 4408 instead of buffering without bound', () => {
  const hub = new Hub({
    logger: captureLogger().logger,
    metrics: createMetricsRegistry('chat-test'),
    maxBufferedBytes: 1000,
    pingSeconds: 3600,
  });
  const buffered = { n: 0 };
  const { client, sent, closes } = fakeClient(buffered);
  hub.add(client);
  const typing: ChatEvent = { type: 'typing', conversationId: 'c', userId: 'v', expiresAt: 'x' };
  const read: ChatEvent = { type: 'read.moved', conversationId: 'c', userId: 'v', lastReadSeq: 1 };
  hub.deliver({ tenantId: 't', event: typing });
  assert.equal(sent.length, 1);
  buffered.n = 600;
  hub.deliver({ tenantId: 't', event: typing });
  hub.deliver({ tenantId: 't', event: read });
  assert.equal(sent.length, 2, 'typing dropped, the read marker sent');
  assert.deepEqual(closes, []);
  buffered.n = 990;
  hub.deliver({ tenantId: 't', event: read });
  assert.deepEqual(closes, [CHAT_CLOSE.tooSlow]);
  assert.equal(hub.size, 0);
  // An event of another tenant never reaches a socket, even under the same conversation id.
  const other = fakeClient({ n: 0 });
  hub.add(other.client);
  hub.deliver({ tenantId: 'another', event: read });
  assert.equal(other.sent.length, 0);
  hub.deliver({ tenantId: 't', event: read });
  assert.equal(other.sent.length, 1);
  hub.closeAll();
});
