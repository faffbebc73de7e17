import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import {
  connectSocket,
  type Message,
  type Received,
  STARTUP,
  sleep,
} from '../../packages/chat/test/helpers.ts';
import { freshDatabase, gatewaySigner, ownRedis, type RunningChat, startChatProcess } from './process.ts';

const postgresUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;
const redisAvailable = await ownRedis();
const skip =
  postgresUrl === undefined
    ? 'SKIPPED (Postgres not installed): two instances share one Postgres database'
    : redisAvailable === undefined
      ? 'SKIPPED (redis-server not installed): instances fan out through Redis'
      : false;
if (skip !== false) process.stdout.write(`\n!!! chat two-instances: ${skip}\n\n`);
await redisAvailable?.destroy();

/**
 * Two chat processes on one Postgres database and one Redis: a message sent
 * through A reaches a socket on B; while Redis is down sends still succeed
 * (stored first), and once it is back the socket is told to resync and catches
 * up with `since` — nothing lost.
 */
describe('two chat instances sharing Redis', { skip }, () => {
  let redis: NonNullable<Awaited<ReturnType<typeof ownRedis>>>;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let a: RunningChat;
  let b: RunningChat;
  const secret = randomSecret();
  const sign = gatewaySigner(secret);

  before(async () => {
    redis = (await ownRedis()) as NonNullable<Awaited<ReturnType<typeof ownRedis>>>;
    db = await freshDatabase(postgresUrl as string);
    const env = { GATEWAY_ASSERTION_SECRET: secret, DATABASE_URL: db.url, REDIS_URL: redis.url };
    a = await startChatProcess(env);
    b = await startChatProcess(env);
  }, STARTUP);
  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.destroy();
    await db?.drop();
  });

  async function call<T>(
    on: RunningChat,
    user: { sub: string; tid: string },
    method: string,
    path: string,
    body?: unknown,
  ) {
    const res = await fetch(`${on.url}${path}`, {
      method,
      headers: {
        ...sign(user, method, path),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  it('a message sent on A reaches a socket on B; after a Redis restart the socket catches up with nothing lost', async () => {
    const tid = randomUUID();
    const ada = { sub: randomUUID(), tid };
    const bob = { sub: randomUUID(), tid };
    const channel = await call<{ id: string }>(a, ada, 'POST', '/api/chat/conversations', {
      kind: 'private',
      name: 'across',
      members: [bob.sub],
    });
    const messages = `/api/chat/conversations/${channel.id}/messages`;
    const socket = await connectSocket(
      `${b.url.replace('http', 'ws')}/api/chat/ws`,
      sign(bob, 'GET', '/api/chat/ws'),
    );

    const first = await call<Message>(a, ada, 'POST', messages, { body: 'across instances' });
    const live = await socket.next((e) => e.type === 'message.created');
    assert.equal((live as unknown as { message: Message }).message.id, first.id);

    // Redis goes away: sends still succeed (Postgres first), the fan-out fails.
    await redis.stop();
    const during: Message[] = [];
    for (let i = 0; i < 5; i++)
      during.push(await call<Message>(a, ada, 'POST', messages, { body: `during ${i}` }));
    await redis.start();
    await socket.next((e) => e.type === 'resync', 20_000);
    const afterRestart = await call<Message>(a, ada, 'POST', messages, { body: 'after' });

    // The client's catch-up: since its last known version, until hasMore is false.
    const received = new Map<string, Message>();
    for (const e of socket.events as (Received & { message?: Message })[]) {
      if (e.type === 'message.created' && e.message !== undefined) received.set(e.message.id, e.message);
    }
    let since = first.version;
    for (;;) {
      const page = await call<{ messages: Message[]; hasMore: boolean; since: number }>(
        b,
        bob,
        'GET',
        `${messages}?since=${since}&limit=2`,
      );
      for (const m of page.messages) received.set(m.id, m);
      since = page.since;
      if (!page.hasMore) break;
    }
    await socket
      .next(
        (e) =>
          e.type === 'message.created' &&
          (e as unknown as { message: Message }).message.id === afterRestart.id,
        10_000,
      )
      .catch(() => undefined);
    for (const m of [first, ...during, afterRestart]) assert.ok(received.has(m.id), `${m.body} reached bob`);
    await sleep(50);
    socket.ws.close();
  });
});
