import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { problemOf, startEchoUpstream, startTestGateway } from './harness.ts';

/**
 * Clients that are slow on purpose must cost only themselves: a slow upload is
 * the client's timeout (408), not an upstream failure that could open the
 * upstream's breaker for everyone; a client that stops reading an answer is
 * cut after the route's timeout and frees its upstream connection and slot.
 */
describe('attack: slow uploads and stalled readers', () => {
  it('answers 408 to a trickled upload and never counts it against the upstream', async () => {
    const upstream = await startEchoUpstream();
    const gw = await startTestGateway({
      upstream,
      config: {
        upstreams: {
          echo: {
            url: upstream.url,
            timeout: 300,
            breaker: { minimumRequests: 3 },
            retries: { attempts: 0 },
          },
        },
        routes: [{ prefix: '/api', upstream: 'echo', public: ['* /**'] }],
      },
    });
    after(async () => {
      await gw.close();
      await upstream.close();
    });
    const { port } = new URL(gw.url);
    for (let i = 0; i < 5; i++) {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        let text = '';
        socket.on('data', (c) => {
          text += c;
        });
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
        socket.write('POST /api/upload HTTP/1.1\r\nhost: gw\r\ncontent-length: 100\r\n\r\n0123456789');
      });
      assert.match(answer, /^HTTP\/1\.1 408 /, answer.slice(0, 200));
      assert.match(answer, /GW_REQUEST_TIMEOUT/);
    }
    const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
      upstreams: { breaker: string }[];
    };
    assert.equal(health.upstreams[0]?.breaker, 'closed', 'five slow clients did not open the breaker');
    assert.equal((await fetch(`${gw.url}/api/x`)).status, 200);
  });

  it('cuts a client that stops reading, freeing the upstream slot', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 'x');
    const upstream = await startEchoUpstream((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(big.length),
      });
      res.end(big);
    });
    const gw = await startTestGateway({
      upstream,
      config: {
        upstreams: { echo: { url: upstream.url, timeout: 500, maxConcurrent: 1 } },
        routes: [{ prefix: '/api', upstream: 'echo', public: ['* /**'] }],
      },
    });
    after(async () => {
      await gw.close();
      await upstream.close();
    });
    const { port } = new URL(gw.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    socket.pause(); // never reads: the gateway's writes back up
    socket.write('GET /api/big HTTP/1.1\r\nhost: gw\r\n\r\n');
    after(() => socket.destroy());
    await new Promise((r) => setTimeout(r, 200));
    const busy = await fetch(`${gw.url}/api/x`);
    assert.equal(busy.status, 503, 'the stalled reader holds the only slot for now');
    assert.equal((await problemOf(busy)).code, 'GW_UPSTREAM_BUSY');
    const until = Date.now() + 3_000;
    let status = 503;
    while (Date.now() < until && status === 503) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await fetch(`${gw.url}/api/x`)).status;
    }
    assert.equal(status, 200, 'the slot came back after the route timeout');
  });
});
