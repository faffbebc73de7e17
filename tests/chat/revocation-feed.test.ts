import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHAT_CLOSE } from '@gatehouse/kit';
import { type AssertedIdentity, createAssertionSigner } from '@gatehouse/kit/service';
import { decodeJwt } from 'jose';
import WebSocket from 'ws';
import { connectSocket, type SocketClient, STARTUP } from '../../packages/chat/test/helpers.ts';
import { baseEnv, type RunningAuth, startAuthProcess } from '../auth/process.ts';
import { type RunningChat, startChatProcess } from './process.ts';

/**
 * Without Redis, chat follows the identity service's revocation feed itself:
 * a signed-out token's socket is closed with 4401 by chat, not only by the
 * gateway cutting the tunnel. Real identity and chat processes, no Redis.
 */
describe('chat without Redis follows the revocation feed', STARTUP, () => {
  let auth: RunningAuth;
  let chat: RunningChat;

  before(async () => {
    auth = await startAuthProcess(baseEnv());
    chat = await startChatProcess({
      GATEWAY_ASSERTION_SECRET: auth.env.GATEWAY_ASSERTION_SECRET as string,
      CHAT_DB_MEMORY: 'true',
      CHAT_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-chat-feed-')),
      CHAT_AUTH_URL: auth.url,
    });
  });
  after(async () => {
    await chat?.stop();
    await auth?.stop();
  });

  async function signUp(): Promise<string> {
    const res = await auth.call('POST', '/api/auth/register', {
      body: {
        email: `feed-${randomBytes(6).toString('hex')}@example.com`,
        password: 'revocations reach chat sockets',
        name: 'Feed',
        tenantName: 'Feed',
      },
    });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { accessToken: string }).accessToken;
  }

  /** A socket opened through "the gateway" with this token's identity (its jti included). */
  function socketFor(token: string): Promise<SocketClient> {
    const claims = decodeJwt(token) as {
      sub: string;
      tid: string;
      roles: string[];
      jti: string;
      exp: number;
    };
    const sign = createAssertionSigner([{ kid: 'gw1', secret: auth.env.GATEWAY_ASSERTION_SECRET as string }]);
    const requestId = `feed-${randomBytes(4).toString('hex')}`;
    const identity: AssertedIdentity = {
      sub: claims.sub,
      tid: claims.tid,
      roles: claims.roles,
      jti: claims.jti,
      tokenExp: claims.exp,
    };
    return connectSocket(`${chat.url.replace('http', 'ws')}/api/chat/ws`, {
      'x-request-id': requestId,
      'x-gateway-assertion': sign(identity, { method: 'GET', path: '/api/chat/ws', requestId }),
    });
  }

  async function until(what: string, done: () => boolean): Promise<void> {
    const started = Date.now();
    while (!done()) {
      if (Date.now() - started > 60_000) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a signed-out token’s socket is closed with 4401; another user’s stays open', async () => {
    await until('the feed followed', () =>
      chat.lines.some((l) => l.msg === 'revocations: following the identity service’s feed'),
    );
    const [revoked, kept] = [await signUp(), await signUp()];
    const [socket, other] = [await socketFor(revoked), await socketFor(kept)];
    const out = await auth.call('POST', '/api/auth/logout', { token: revoked, body: {} });
    assert.equal(out.status, 204);
    const started = Date.now();
    const closed = await Promise.race([
      socket.closed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the revoked socket is still open after 15 s')), 15_000).unref(),
      ),
    ]);
    process.stdout.write(
      `\nrevocation → chat socket closed in ${Date.now() - started} ms (feed, no Redis)\n`,
    );
    assert.equal(closed.code, CHAT_CLOSE.tokenExpired);
    assert.equal(other.ws.readyState, WebSocket.OPEN);
    other.ws.close();
  });

  it('the identity service gone: chat logs it, keeps serving and stays ready', async () => {
    await auth.stop();
    await until('the feed failure logged', () =>
      chat.lines.some((l) => String(l.msg).startsWith('revocations: feed unreachable')),
    );
    assert.equal((await fetch(`${chat.url}/ready`)).status, 200);
  });
});
