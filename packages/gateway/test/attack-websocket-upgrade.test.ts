import assert from 'node:assert/strict';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAssertionVerifier } from '@gatehouse/kit';
import { randomSecret } from '@gatehouse/kit/testing';
import { rawRequest, startTestGateway, type TestGateway } from './harness.ts';
import {
  connectWs,
  rawUpgrade,
  startIdentityService,
  startWsUpstream,
  type WsUpstream,
} from './websocket-harness.ts';

/**
 * Attacks on the WebSocket handshake. Every refusal comes before any `101`,
 * as a problem+json on the raw connection, and the upstream never sees the
 * handshake. Real sockets end to end: the `ws` client, the gateway, a `ws`
 * upstream, and an identity service for revocations and memberships.
 */

describe('attack: WebSocket upgrades', () => {
  let gw: TestGateway;
  let ws: WsUpstream;
  let identity: Awaited<ReturnType<typeof startIdentityService>>;
  const secret = randomSecret();

  before(async () => {
    ws = await startWsUpstream();
    identity = await startIdentityService(secret);
    gw = await startTestGateway({
      assertionSecret: secret,
      config: {
        identity: { url: identity.url, revocationWaitMs: 2_000 },
        cors: { origins: ['https://app.example'] },
        upstreams: {
          echo: { url: 'http://127.0.0.1:1', timeout: 'fast' },
          chat: { url: ws.url, timeout: 'fast' },
        },
        routes: [
          { prefix: '/api/chat/ws', upstream: 'chat', websocket: true },
          { prefix: '/api/chat', upstream: 'chat', roles: { '* /admin/**': ['admin'] }, websocket: true },
          { prefix: '/api/plain', upstream: 'chat' },
        ],
      },
    });
  });
  after(async () => {
    await gw.close();
    await ws.close();
    await identity.close();
  });

  const memberToken = async (sub: string, extra: Parameters<TestGateway['token']>[0] = {}) => {
    identity.member(sub, 'tenant-1');
    return gw.token({ sub, tid: 'tenant-1', ...extra });
  };

  async function refused(target: string, headers: string[], status: number, code: string) {
    const seen = ws.handshakes.length;
    const res = await rawRequest(gw.url, rawUpgrade(target, headers));
    assert.equal(res.status, status, res.raw);
    assert.equal(res.headers['content-type'], 'application/problem+json');
    assert.equal(JSON.parse(res.body).code, code);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', 'security headers on refusals too');
    assert.ok(res.closed, 'the connection ends after a refused handshake');
    assert.equal(ws.handshakes.length, seen, 'the upstream never saw the handshake');
    return res;
  }

  it('tunnels an authenticated handshake: the 101 is the upstream’s, messages echo both ways', async () => {
    const token = await memberToken('user-ok');
    const conn = await connectWs(`${gw.url}/api/chat/ws?room=1`, { authorization: `Bearer ${token}` });
    assert.equal(await conn.echo('hello'), 'hello');
    const seen = ws.handshakes.at(-1);
    assert.equal(seen?.url, '/api/chat/ws?room=1');
    assert.equal(seen?.headers['x-user-id'], 'user-ok');
    conn.socket.close();
    assert.equal(await conn.closed, 1005);
  });

  it('refuses a handshake with no token, a bad token or an expired token (401)', async () => {
    await refused('/api/chat/ws', [], 401, 'GW_UNAUTHENTICATED');
    await refused('/api/chat/ws', ['Authorization: Bearer not.a.token'], 401, 'GW_INVALID_TOKEN');
    const now = Math.floor(Date.now() / 1000);
    const expired = await memberToken('user-exp', { iat: now - 700, exp: now - 100 });
    await refused('/api/chat/ws', [`Authorization: Bearer ${expired}`], 401, 'GW_INVALID_TOKEN');
  });

  it('refuses a revoked token (401)', async () => {
    const token = await memberToken('user-rev', { jti: 'revoked-before' });
    identity.revoke({ type: 'jti', jti: 'revoked-before', exp: Math.floor(Date.now() / 1000) + 600 });
    await new Promise((r) => setTimeout(r, 300));
    await refused('/api/chat/ws', [`Authorization: Bearer ${token}`], 401, 'GW_INVALID_TOKEN');
  });

  it('refuses a token for a tenant the user is not a member of (user check)', async () => {
    identity.member('user-other', 'tenant-2');
    const token = await gw.token({ sub: 'user-other', tid: 'tenant-1' });
    await refused('/api/chat/ws', [`Authorization: Bearer ${token}`], 401, 'GW_INVALID_TOKEN');
  });

  it('runs the role rules on the handshake (403)', async () => {
    const token = await memberToken('user-roles');
    await refused('/api/chat/admin/ws', [`Authorization: Bearer ${token}`], 403, 'GW_FORBIDDEN');
  });

  it('drops spoofed identity headers: the service sees only the injected identity and a valid assertion', async () => {
    const token = await memberToken('user-real');
    const conn = await connectWs(`${gw.url}/api/chat/ws`, {
      authorization: `Bearer ${token}`,
      'x-user-id': 'admin',
      'x-tenant-id': 'tenant-9',
      'x-user-roles': 'owner',
      'x-gateway-assertion': 'forged',
      'x-forwarded-for': '6.6.6.6',
    });
    conn.socket.close();
    const seen = ws.handshakes.at(-1);
    assert.equal(seen?.headers['x-user-id'], 'user-real');
    assert.equal(seen?.headers['x-tenant-id'], 'tenant-1');
    assert.equal(seen?.headers['x-user-roles'], 'member');
    assert.notEqual(seen?.headers['x-forwarded-for'], '6.6.6.6');
    const verify = createAssertionVerifier([{ kid: 'gw1', secret }]);
    const checked = verify(seen?.headers['x-gateway-assertion'], {
      method: 'GET',
      path: '/api/chat/ws',
      requestId: String(seen?.headers['x-request-id']),
    });
    assert.equal(checked.ok, true);
    const tokenExp = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).exp;
    assert.equal(
      checked.ok && checked.identity.tokenExp,
      tokenExp,
      'the service learns when the token expires',
    );
  });

  it('refuses an upgrade on a route without websocket, and never tunnels it', async () => {
    const token = await memberToken('user-plain');
    await refused('/api/plain/x', [`Authorization: Bearer ${token}`], 400, 'GW_UPGRADE_REFUSED');
  });

  it('never forwards an h2c upgrade, even on a WebSocket route', async () => {
    const token = await memberToken('user-h2c');
    const seen = ws.handshakes.length;
    const res = await rawRequest(
      gw.url,
      rawUpgrade(
        '/api/chat/ws',
        [`Authorization: Bearer ${token}`, 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'],
        ['Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings'],
      ),
    );
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).code, 'GW_UPGRADE_REFUSED');
    assert.equal(ws.handshakes.length, seen);
  });

  it('refuses a cross-site Origin; allows the listed origin and the gateway’s own host', async () => {
    const token = await memberToken('user-origin');
    const auth = `Authorization: Bearer ${token}`;
    await refused('/api/chat/ws', [auth, 'Origin: https://evil.example'], 403, 'GW_CORS_REJECTED');
    await refused('/api/chat/ws', [auth, 'Origin: null'], 403, 'GW_CORS_REJECTED');
    const listed = await connectWs(`${gw.url}/api/chat/ws`, {
      authorization: `Bearer ${token}`,
      origin: 'https://app.example',
    });
    listed.socket.close();
    const own = await connectWs(`${gw.url}/api/chat/ws`, {
      authorization: `Bearer ${token}`,
      origin: gw.url,
    });
    own.socket.close();
  });

  it('counts the handshake in the rate limit and gives it its own metrics', async () => {
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /gateway_websocket_handshakes_total\{route="\/api\/chat\/ws",status="101"\} [1-9]/);
    assert.match(metrics, /gateway_websocket_handshakes_total\{route="\/api\/chat\/ws",status="401"\} [1-9]/);
    assert.match(
      metrics,
      /gateway_websocket_closes_total\{route="\/api\/chat\/ws",reason="(client|upstream)"\} [1-9]/,
    );
  });
});

describe('attack: WebSocket upstream failures', () => {
  it('answers 504 when the upstream never answers the handshake, 502 when it refuses the connection', async () => {
    // A TCP server that accepts and never says a word.
    const silent = createNetServer((socket: Socket) => socket.on('error', () => {}));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    after(() => {
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const gw = await startTestGateway({
      config: {
        upstreams: {
          echo: { url: 'http://127.0.0.1:1', timeout: 'fast' },
          silent: { url: `http://127.0.0.1:${port}`, timeout: 500, breaker: { minimumRequests: 100 } },
          gone: { url: 'http://127.0.0.1:1', timeout: 500, retries: { attempts: 0 } },
        },
        routes: [
          { prefix: '/silent', upstream: 'silent', websocket: true },
          { prefix: '/gone', upstream: 'gone', websocket: true },
        ],
      },
    });
    after(() => gw.close());
    const auth = `Authorization: Bearer ${await gw.token()}`;
    const slow = await rawRequest(gw.url, rawUpgrade('/silent', [auth]));
    assert.equal(slow.status, 504);
    assert.equal(JSON.parse(slow.body).code, 'GW_UPSTREAM_TIMEOUT');
    const gone = await rawRequest(gw.url, rawUpgrade('/gone', [auth]));
    assert.equal(gone.status, 502);
    assert.equal(JSON.parse(gone.body).code, 'GW_UPSTREAM_UNAVAILABLE');
  });

  it('relays an upstream’s own refusal of the handshake, and an open breaker refuses with 503', async () => {
    // An upstream that answers the handshake with its own 403 (a service refusing the assertion).
    const refusing = createNetServer((socket: Socket) => {
      socket.on('error', () => {});
      socket.once('data', () =>
        socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n\r\nrefused'),
      );
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    after(() => {
      refusing.close();
    });
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as { port: number }).port}`;
    const gw = await startTestGateway({
      config: {
        upstreams: {
          echo: { url: 'http://127.0.0.1:1', timeout: 'fast' },
          flaky: {
            url: `http://127.0.0.1:1`,
            timeout: 500,
            breaker: { minimumRequests: 2, failureRatePercent: 50 },
          },
          plain: { url: refusingUrl, timeout: 500 },
        },
        routes: [
          { prefix: '/flaky', upstream: 'flaky', websocket: true },
          { prefix: '/plain', upstream: 'plain', websocket: true },
        ],
      },
    });
    after(() => gw.close());
    const auth = `Authorization: Bearer ${await gw.token()}`;
    const relayed = await rawRequest(gw.url, rawUpgrade('/plain', [auth]));
    assert.equal(relayed.status, 403);
    assert.equal(relayed.body, 'refused');
    assert.ok(relayed.closed);
    for (let i = 0; i < 3; i++) await rawRequest(gw.url, rawUpgrade('/flaky', [auth]));
    const open = await rawRequest(gw.url, rawUpgrade('/flaky', [auth]));
    assert.equal(open.status, 503);
    assert.equal(JSON.parse(open.body).code, 'GW_UPSTREAM_CIRCUIT_OPEN');
    assert.ok(Number(open.headers['retry-after']) >= 1);
    const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as { websockets: { open: number } };
    assert.equal(health.websockets.open, 0);
  });

  it('tunnels bytes sent right after the handshake (in the same packet, or before the 101) to the upstream', async () => {
    // The upstream takes 300 ms to accept: a frame sent meanwhile is held, then delivered first.
    const ws = await startWsUpstream(undefined, { handshakeDelayMs: 300 });
    after(() => ws.close());
    const gw = await startTestGateway({
      config: {
        upstreams: { echo: { url: 'http://127.0.0.1:1', timeout: 'fast' }, chat: { url: ws.url } },
        routes: [{ prefix: '/ws', upstream: 'chat', websocket: { idleTimeoutSeconds: 30 } }],
      },
    });
    after(() => gw.close());
    const auth = `Authorization: Bearer ${await gw.token()}`;
    // A masked text frame "hi" straight after the head: the upstream must receive it and echo it.
    const frame = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2]);
    const { port } = new URL(gw.url);
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    after(() => socket.destroy());
    socket.write(Buffer.concat([Buffer.from(rawUpgrade('/ws', [auth])), frame]));
    await new Promise((r) => setTimeout(r, 100));
    socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'y'.charCodeAt(0) ^ 1, 'o'.charCodeAt(0) ^ 2]));
    let raw = '';
    socket.on('data', (c: Buffer) => {
      raw += c.toString('latin1');
    });
    const end = Date.now() + 3_000;
    while (!raw.endsWith('yo') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.match(raw, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(raw, /\r\nupgrade: websocket\r\n/i);
    assert.match(raw, /\r\nsec-websocket-accept: \S+\r\n/i, 'the upstream’s own accept key');
    assert.ok(raw.endsWith('\x81\x02hi\x81\x02yo'), 'both echoes came back through the tunnel, in order');
  });
});
