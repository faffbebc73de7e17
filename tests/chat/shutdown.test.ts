import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHAT_CLOSE } from '@gatehouse/kit';
import { randomSecret } from '@gatehouse/kit/testing';
import { connectSocket, STARTUP } from '../../packages/chat/test/helpers.ts';
import { gatewaySigner, startChatProcess } from './process.ts';

test(
  'SIGTERM: open sockets are told to go elsewhere (1001), the listener drains, the process exits 0',
  STARTUP,
  async () => {
    const secret = randomSecret();
    const chat = await startChatProcess({
      GATEWAY_ASSERTION_SECRET: secret,
      CHAT_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-chat-shutdown-')),
    });
    const sign = gatewaySigner(secret);
    const user = { sub: randomUUID(), tid: randomUUID() };
    const socket = await connectSocket(
      `${chat.url.replace('http', 'ws')}/api/chat/ws`,
      sign(user, 'GET', '/api/chat/ws'),
    );
    const started = Date.now();
    const code = await chat.terminate();
    assert.equal((await socket.closed).code, CHAT_CLOSE.goingAway);
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 15_000, 'the socket did not hold the shutdown to its deadline');
    assert.ok(chat.lines.some((l) => l.msg === 'shutdown: done' && l.code === 0));
  },
);
