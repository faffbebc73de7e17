import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { startGateway, token } from './process.ts';

/**
 * SIGTERM with open WebSocket tunnels, on the real process: readiness turns
 * 503 and new upgrades are refused, open tunnels keep working until
 * `websockets.drainDeadlineMs`, then they are closed and the process exits 0,
 * well inside `limits.shutdownDeadlineMs`.
 */

function open(url: string, bearer: string): Promise<{ socket: WebSocket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${bearer}` } });
    const closed = new Promise<number>((r) => socket.once('close', (code) => r(code)));
    socket.once('open', () => resolve({ socket, closed }));
    socket.once('error', reject);
    after(() => socket.terminate());
  });
}

function echo(socket: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('message', (data) => resolve(String(data)));
    socket.send(text);
  });
}

describe('gateway process: WebSocket drain on SIGTERM', () => {
  it('keeps open tunnels until the drain deadline, refuses new ones, then exits 0 within the bound', async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (s) => s.on('message', (d, binary) => s.send(d, { binary })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => {
      for (const c of wss.clients) c.terminate();
      server.close();
    });
    const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gw = await startGateway(
      'ws-drain',
      upstream,
      'limits: { shutdownDeadlineMs: 5000, shutdownDrainDelayMs: 600 }\nwebsockets: { drainDeadlineMs: 1500 }',
      '[ { prefix: /api/chat/ws, upstream: up, websocket: true } ]',
    );
    const wsUrl = `${gw.url.replace('http', 'ws')}/api/chat/ws`;
    const a = await open(wsUrl, await token('drain-a'));
    const b = await open(wsUrl, await token('drain-b'));
    assert.equal(await echo(a.socket, 'before'), 'before');

    const signalled = performance.now();
    gw.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    // Still accepting (the drain delay) but no new tunnel.
    await assert.rejects(open(wsUrl, await token('drain-c')), /Unexpected server response: 503/);
    assert.equal(await echo(b.socket, 'during drain'), 'during drain', 'open tunnels keep working');

    const [closedA, closedB] = await Promise.all([a.closed, b.closed]);
    const closedAfter = performance.now() - signalled;
    assert.equal(closedA, 1006);
    assert.equal(closedB, 1006);
    assert.ok(
      closedAfter >= 1_300 && closedAfter < 3_500,
      `closed ${Math.round(closedAfter)} ms after SIGTERM`,
    );
    const code = await gw.exited;
    assert.equal(code, 0, gw.output());
    assert.ok(performance.now() - signalled < 5_000, 'within limits.shutdownDeadlineMs');
    assert.match(gw.output(), /"reason":"drain"/);
  });
});
