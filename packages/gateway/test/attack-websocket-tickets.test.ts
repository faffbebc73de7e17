import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { generateTestKeys, rawRequest, startTestGateway, type TestGateway } from './harness.ts';
import { connectWs, rawUpgrade, startWsUpstream, type WsUpstream } from './websocket-harness.ts';

/**
 * Attacks on browser connection tickets: single use, short-lived, bound to the
 * minting Origin, never together with another credential, redeemable on any
 * instance sharing Redis, and never written to a log or passed upstream.
 */

async function ticketGateway(
  extra: Record<string, unknown> = {},
  ws?: WsUpstream,
  keys?: Awaited<ReturnType<typeof generateTestKeys>>,
) {
  const upstream = ws ?? (await startWsUpstream());
  if (ws === undefined) after(() => upstream.close());
  const gw = await startTestGateway({
    ...(keys === undefined ? {} : { keys }),
    config: {
      upstreams: { echo: { url: 'http://127.0.0.1:1', timeout: 'fast' }, chat: { url: upstream.url } },
      routes: [{ prefix: '/api/chat/ws', upstream: 'chat', websocket: true }],
      ...extra,
    },
  });
  after(() => gw.close());
  return { gw, ws: upstream };
}

async function mint(gw: TestGateway, token: string, origin?: string): Promise<Response> {
  return fetch(`${gw.url}/api/ws-ticket`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(origin === undefined ? {} : { origin }) },
  });
}

async function ticketOf(gw: TestGateway, token: string, origin?: string): Promise<string> {
  const res = await mint(gw, token, origin);
  assert.equal(res.status, 201);
  const body = (await res.json()) as { ticket: string; expiresInSeconds: number };
  return body.ticket;
}

async function refusedTicket(gw: TestGateway, ws: WsUpstream, target: string, headers: string[] = []) {
  const seen = ws.handshakes.length;
  const res = await rawRequest(gw.url, rawUpgrade(target, headers));
  assert.equal(res.status, 401, res.raw);
  assert.equal(JSON.parse(res.body).code, 'GW_INVALID_TICKET');
  assert.equal(ws.handshakes.length, seen, 'the upstream never saw the handshake');
}

describe('attack: WebSocket connection tickets', () => {
  it('mints a ticket for an authenticated POST only; it is not cacheable', async () => {
    const { gw } = await ticketGateway();
    const res = await mint(gw, await gw.token());
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as { ticket: string; expiresInSeconds: number };
    assert.match(body.ticket, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(body.expiresInSeconds, 30);
    assert.equal((await fetch(`${gw.url}/api/ws-ticket`, { method: 'POST' })).status, 401);
    const get = await fetch(`${gw.url}/api/ws-ticket`, {
      headers: { authorization: `Bearer ${await gw.token()}` },
    });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  it('a ticket opens one connection as the user who minted it, and never a second', async () => {
    const { gw, ws } = await ticketGateway();
    const token = await gw.token({ sub: 'browser-user', tid: 'tenant-7' });
    const ticket = await ticketOf(gw, token);
    const conn = await connectWs(`${gw.url}/api/chat/ws?room=2&ticket=${ticket}`);
    assert.equal(await conn.echo('via ticket'), 'via ticket');
    const seen = ws.handshakes.at(-1);
    assert.equal(seen?.headers['x-user-id'], 'browser-user');
    assert.equal(seen?.headers['x-tenant-id'], 'tenant-7');
    assert.equal(seen?.url, '/api/chat/ws?room=2', 'the ticket is not passed upstream');
    await refusedTicket(gw, ws, `/api/chat/ws?ticket=${ticket}`);
    // Neither the access log nor any other line holds the ticket or the token.
    const text = JSON.stringify(gw.logs.lines);
    assert.equal(text.includes(ticket), false);
    assert.equal(text.includes(token), false);
  });

  it('refuses an expired ticket, an unknown one and garbage', async () => {
    const { gw, ws } = await ticketGateway({ websockets: { tickets: { ttlSeconds: 1 } } });
    const ticket = await ticketOf(gw, await gw.token());
    await new Promise((r) => setTimeout(r, 1_200));
    await refusedTicket(gw, ws, `/api/chat/ws?ticket=${ticket}`);
    await refusedTicket(gw, ws, `/api/chat/ws?ticket=${'A'.repeat(43)}`);
    await refusedTicket(gw, ws, '/api/chat/ws?ticket=%00%27');
    await refusedTicket(gw, ws, '/api/chat/ws?ticket=');
  });

  it('refuses a ticket used from another Origin than the one it was minted for', async () => {
    const { gw, ws } = await ticketGateway({
      cors: { origins: ['https://app.example', 'https://evil.example'] },
    });
    const ticket = await ticketOf(gw, await gw.token(), 'https://app.example');
    await refusedTicket(gw, ws, `/api/chat/ws?ticket=${ticket}`, ['Origin: https://evil.example']);
    // Spent by the failed attempt: it cannot be retried from the right origin either.
    await refusedTicket(gw, ws, `/api/chat/ws?ticket=${ticket}`, ['Origin: https://app.example']);
    const fresh = await ticketOf(gw, await gw.token(), 'https://app.example');
    const ok = await connectWs(`${gw.url}/api/chat/ws?ticket=${fresh}`, { origin: 'https://app.example' });
    ok.socket.close();
  });

  it('refuses a ticket sent together with a token of another tenant', async () => {
    const { gw, ws } = await ticketGateway();
    const ticket = await ticketOf(gw, await gw.token({ tid: 'tenant-a' }));
    const other = await gw.token({ sub: 'intruder', tid: 'tenant-b' });
    await refusedTicket(gw, ws, `/api/chat/ws?ticket=${ticket}`, [`Authorization: Bearer ${other}`]);
  });

  it('a ticket is worth no more than its token: one minted with a token that expires meanwhile is refused', async () => {
    const { gw, ws } = await ticketGateway();
    const now = Math.floor(Date.now() / 1000);
    // The verifier allows auth.clockToleranceSeconds (30 s by default) past exp; beyond it, refused.
    // The token stays good for 2-3 s (room to mint on a busy machine), then the ticket outlives it.
    const exp = now - 27;
    const ticket = await ticketOf(gw, await gw.token({ iat: now - 600, exp }));
    await new Promise((r) => setTimeout(r, Math.max(0, (exp + 31) * 1000 - Date.now()) + 100));
    const seen = ws.handshakes.length;
    const res = await rawRequest(gw.url, rawUpgrade(`/api/chat/ws?ticket=${ticket}`));
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.body).code, 'GW_INVALID_TOKEN');
    assert.equal(ws.handshakes.length, seen);
  });

  const redisUrl = process.env.GATEHOUSE_TEST_REDIS_URL;
  it('is redeemable on another instance sharing Redis, exactly once across both', {
    skip: redisUrl === undefined ? 'SKIPPED: Redis not available (GATEHOUSE_TEST_REDIS_URL unset)' : false,
  }, async () => {
    const ws = await startWsUpstream();
    after(() => ws.close());
    const keys = await generateTestKeys();
    const shared = { rateLimits: { redisUrl } };
    const { gw: a } = await ticketGateway(shared, ws, keys);
    const { gw: b } = await ticketGateway(shared, ws, keys);
    const ticket = await ticketOf(a, await a.token({ sub: 'roamer' }));
    const conn = await connectWs(`${b.url}/api/chat/ws?ticket=${ticket}`);
    assert.equal(ws.handshakes.at(-1)?.headers['x-user-id'], 'roamer');
    conn.socket.close();
    await refusedTicket(a, ws, `/api/chat/ws?ticket=${ticket}`);
    await refusedTicket(b, ws, `/api/chat/ws?ticket=${ticket}`);
    const health = (await (await fetch(`${a.adminUrl}/health`)).json()) as {
      websockets: { tickets: string };
    };
    assert.equal(health.websockets.tickets, 'redis');
  });
});
