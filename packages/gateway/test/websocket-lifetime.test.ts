import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { randomSecret } from '@gatehouse/kit/testing';
import { Redis } from 'ioredis';
import { generateTestKeys, rawRequest, startTestGateway } from './harness.ts';
import {
  connectWs,
  rawUpgrade,
  startIdentityService,
  startWsUpstream,
  until,
  within,
} from './websocket-harness.ts';

/**
 * A tunnel never outlives its authority, nor its welcome: token expiry,
 * revocation (on every instance), idle and maximum lifetime end it; the
 * connection caps refuse the handshake over them. Real sockets throughout.
 */

async function chatGateway(extra: Record<string, unknown> = {}, websocket: unknown = true) {
  const ws = await startWsUpstream();
  after(() => ws.close());
  const gw = await startTestGateway({
    config: {
      upstreams: { echo: { url: 'http://127.0.0.1:1', timeout: 'fast' }, chat: { url: ws.url } },
      routes: [{ prefix: '/api/chat/ws', upstream: 'chat', websocket: websocket as true }],
      ...extra,
    },
  });
  after(() => gw.close());
  return { gw, ws };
}

describe('WebSocket lifetime', () => {
  it('closes the tunnel when the token expires', async () => {
    const { gw } = await chatGateway();
    const now = Math.floor(Date.now() / 1000);
    const token = await gw.token({ iat: now, exp: now + 2 });
    const started = Date.now();
    const conn = await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${token}` });
    assert.equal(await conn.echo('before'), 'before');
    await within(conn.closed, 4_000, 'closed at expiry');
    const closedAfter = Date.now() - started;
    assert.ok(closedAfter >= 1_000 && closedAfter <= (now + 3) * 1000 - started + 1_000, `${closedAfter} ms`);
    await until(
      async () => /reason="expiry"\} 1/.test(await (await fetch(`${gw.adminUrl}/metrics`)).text()),
      1_000,
      'expiry counted',
    );
    const line = gw.logs.lines.find((l) => l.event === 'websocket_closed');
    assert.equal(line?.reason, 'expiry');
    assert.equal(typeof line?.durationMs, 'number');
    assert.equal(JSON.stringify(line).includes(token), false, 'no token in the tunnel log line');
  });

  it('closes an idle tunnel; traffic keeps it open', async () => {
    const { gw } = await chatGateway({}, { idleTimeoutSeconds: 1 });
    const token = await gw.token();
    const busy = await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${token}` });
    const idle = await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${token}` });
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(
        await busy.echo(`ping ${i}`),
        `ping ${i}`,
        'a busy tunnel stays open past the idle timeout',
      );
    }
    assert.equal(await within(idle.closed, 100, 'idle tunnel already closed'), 1006);
    await within(busy.closed, 2_500, 'closed once traffic stopped');
    const line = gw.logs.lines.find((l) => l.event === 'websocket_closed');
    assert.equal(line?.reason, 'idle');
  });

  it('closes a tunnel at the route’s maximum lifetime, busy or not', async () => {
    const { gw } = await chatGateway({}, { idleTimeoutSeconds: 60, maxLifetimeSeconds: 1 });
    const conn = await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${await gw.token()}` });
    const started = Date.now();
    await within(conn.closed, 2_500, 'closed at max lifetime');
    assert.ok(Date.now() - started >= 700);
    assert.equal(gw.logs.lines.find((l) => l.event === 'websocket_closed')?.reason, 'lifetime');
  });

  it('caps open connections per user (429 with Retry-After) and frees the place when one closes', async () => {
    const { gw, ws } = await chatGateway({ websockets: { maxPerUser: 2 } });
    const token = await gw.token({ sub: 'capped' });
    const first = await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${token}` });
    await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${token}` });
    const seen = ws.handshakes.length;
    const over = await rawRequest(gw.url, rawUpgrade('/api/chat/ws', [`Authorization: Bearer ${token}`]));
    assert.equal(over.status, 429);
    assert.equal(JSON.parse(over.body).code, 'GW_TOO_MANY_CONNECTIONS');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    assert.equal(ws.handshakes.length, seen, 'the upstream never saw the refused handshake');
    // Another user of the same tenant is not affected.
    await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${await gw.token({ sub: 'other' })}` });
    first.socket.close();
    await first.closed;
    await until(
      async () => {
        const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
          websockets: { open: number };
        };
        return health.websockets.open === 2;
      },
      1_000,
      'place freed',
    );
    await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${token}` });
  });

  it('caps open connections per tenant by its tier, and per instance', async () => {
    const { gw } = await chatGateway({ websockets: { maxPerTenant: { free: 2 }, maxConnections: 3 } });
    const a = await gw.token({ sub: 'a', tid: 'small' });
    const b = await gw.token({ sub: 'b', tid: 'small' });
    await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${a}` });
    await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${b}` });
    const tenantOver = await rawRequest(gw.url, rawUpgrade('/api/chat/ws', [`Authorization: Bearer ${a}`]));
    assert.equal(tenantOver.status, 429, 'free tier: 2 per tenant');
    await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${await gw.token({ tid: 'other' })}` });
    const instanceOver = await rawRequest(
      gw.url,
      rawUpgrade('/api/chat/ws', [`Authorization: Bearer ${await gw.token({ tid: 'third' })}`]),
    );
    assert.equal(instanceOver.status, 429, 'instance cap: 3');
    const refusals = gw.logs.lines.filter((l) => String(l.reason).startsWith('connection_cap:'));
    assert.deepEqual(
      refusals.map((l) => l.reason),
      ['connection_cap:tenant', 'connection_cap:instance'],
    );
  });

  it('closes the tunnel within 1 s when its token is revoked through the feed', async () => {
    const secret = randomSecret();
    const identity = await startIdentityService(secret);
    after(() => identity.close());
    const ws = await startWsUpstream();
    after(() => ws.close());
    const gw = await startTestGateway({
      assertionSecret: secret,
      config: {
        identity: { url: identity.url, revocationWaitMs: 5_000, userLookup: { enabled: false } },
        upstreams: { echo: { url: 'http://127.0.0.1:1' }, chat: { url: ws.url } },
        routes: [{ prefix: '/ws', upstream: 'chat', websocket: true }],
      },
    });
    after(() => gw.close());
    const iat = Math.floor(Date.now() / 1000) - 5;
    const keep = await connectWs(`${gw.url}/ws`, {
      authorization: `Bearer ${await gw.token({ sub: 'stays', iat, exp: iat + 600 })}`,
    });
    const conn = await connectWs(`${gw.url}/ws`, {
      authorization: `Bearer ${await gw.token({ sub: 'leaver', iat, exp: iat + 600 })}`,
    });
    const started = performance.now();
    identity.revoke({ type: 'user', sub: 'leaver', notBefore: iat + 1 });
    await within(conn.closed, 1_000, 'revoked tunnel closed');
    assert.ok(performance.now() - started < 1_000);
    assert.equal(await keep.echo('still here'), 'still here', 'other users keep their tunnels');
    assert.equal(gw.logs.lines.find((l) => l.event === 'websocket_closed')?.reason, 'revocation');
  });

  it('drains: refuses new handshakes with 503, lets open tunnels run until the deadline, then closes them', async () => {
    const { gw, ws } = await chatGateway();
    const token = await gw.token();
    const conn = await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${token}` });
    const started = performance.now();
    const drained = gw.gateway.drainTunnels();
    const seen = ws.handshakes.length;
    const refused = await rawRequest(gw.url, rawUpgrade('/api/chat/ws', [`Authorization: Bearer ${token}`]));
    assert.equal(refused.status, 503);
    assert.equal(JSON.parse(refused.body).code, 'GW_SHUTTING_DOWN');
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(ws.handshakes.length, seen);
    assert.equal(await conn.echo('still open'), 'still open');
    // The default drain deadline (10 s) is cut short by the last tunnel closing on its own.
    conn.socket.close();
    await within(drained, 1_000, 'drain done once the last tunnel closed');
    assert.ok(performance.now() - started < 2_000);
    // An empty registry drains at once.
    await within(gw.gateway.drainTunnels(), 100, 'nothing to drain');
  });

  it('closes what is still open at the drain deadline', async () => {
    const { gw } = await chatGateway();
    const conn = await connectWs(`${gw.url}/api/chat/ws`, { authorization: `Bearer ${await gw.token()}` });
    await gw.gateway.tunnels.drain(200);
    assert.equal(await within(conn.closed, 500, 'closed by the drain'), 1006);
    await until(() => gw.logs.lines.some((l) => l.reason === 'drain'), 500, 'drain logged');
  });

  it('lets go of the upstream handshake when the client leaves, and counts the upstream’s concurrency cap', async () => {
    // A TCP server that accepts and never answers: handshakes to it stay pending.
    const pending: Socket[] = [];
    let letGo = 0;
    const silent = createNetServer((socket) => {
      pending.push(socket);
      socket.on('error', () => {});
      socket.on('close', () => letGo++);
      socket.resume();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    after(() => {
      for (const s of pending) s.destroy();
      silent.close();
    });
    const gw = await startTestGateway({
      config: {
        upstreams: {
          echo: { url: 'http://127.0.0.1:1' },
          silent: { url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, maxConcurrent: 1 },
        },
        routes: [{ prefix: '/ws', upstream: 'silent', websocket: true }],
      },
    });
    after(() => gw.close());
    const auth = `Authorization: Bearer ${await gw.token()}`;
    const client = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) });
    client.on('error', () => {});
    client.write(rawUpgrade('/ws', [auth]));
    await until(() => pending.length === 1, 2_000, 'handshake reached the upstream');
    const busy = await rawRequest(gw.url, rawUpgrade('/ws', [auth]));
    assert.equal(busy.status, 503);
    assert.equal(JSON.parse(busy.body).code, 'GW_UPSTREAM_BUSY');
    client.destroy();
    await until(
      () => pending[0]?.destroyed === true || pending[0]?.readableEnded === true,
      2_000,
      'upstream let go',
    );
    await until(
      () => gw.logs.lines.some((l) => l.reason === 'client_gone' && l.status === 499),
      1_000,
      '499 logged',
    );
  });

  const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;
  it('closes the tunnels of a revoked token on every instance sharing Redis, within 1 s', {
    skip: redisUrl === undefined ? 'SKIPPED: Redis not available (GATEHOUSE_TEST_REDIS_URL unset)' : false,
  }, async () => {
    const secret = randomSecret();
    const identity = await startIdentityService(secret);
    after(() => identity.close());
    const ws = await startWsUpstream();
    after(() => ws.close());
    const keys = await generateTestKeys();
    // Long polls that would not answer within the test: only Redis can bring the news in time.
    const config = {
      identity: { url: identity.url, redisUrl, revocationWaitMs: 25_000, userLookup: { enabled: false } },
      upstreams: { echo: { url: 'http://127.0.0.1:1' }, chat: { url: ws.url } },
      routes: [{ prefix: '/ws', upstream: 'chat', websocket: true as const }],
    };
    const a = await startTestGateway({ keys, assertionSecret: secret, config });
    after(() => a.close());
    const b = await startTestGateway({ keys, assertionSecret: secret, config });
    after(() => b.close());
    for (const gw of [a, b]) {
      await until(
        async () => {
          const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
            revocations: { redis: string };
          };
          return health.revocations.redis === 'subscribed';
        },
        3_000,
        'subscribed',
      );
    }
    const iat = Math.floor(Date.now() / 1000) - 5;
    const token = await a.token({ jti: `revoked-${randomSecret(8)}`, iat, exp: iat + 600 });
    const jti = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).jti;
    const onA = await connectWs(`${a.url}/ws`, { authorization: `Bearer ${token}` });
    const onB = await connectWs(`${b.url}/ws`, { authorization: `Bearer ${token}` });
    const publisher = new Redis(redisUrl as string);
    after(() => publisher.quit());
    const started = performance.now();
    await publisher.publish('gatehouse:revocations', JSON.stringify({ type: 'jti', jti, exp: iat + 600 }));
    await within(Promise.all([onA.closed, onB.closed]), 1_000, 'both instances closed');
    assert.ok(performance.now() - started < 1_000);
  });
});
