import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { createAssertionVerifier } from '@gatehouse/kit';
import { randomSecret, startHttpServer } from '@gatehouse/kit/testing';
import { startEchoUpstream, startTestGateway } from './harness.ts';

/**
 * Clients that disconnect while their request is still in the pipeline (here:
 * waiting for a slow user lookup) must not leave anything behind: no request
 * is sent upstream for them, no concurrency slot leaks, and the gateway keeps
 * serving and shuts down promptly. (Found by bench/load/client-abort.ts: such
 * clients used to wedge every upstream connection.)
 */
describe('attack: clients that disconnect mid-pipeline', () => {
  it('sends nothing upstream for them, leaks no slot, and keeps serving', async () => {
    const secret = randomSecret();
    const verify = createAssertionVerifier([{ kid: 'gw1', secret }]);
    const lookedUp = new Set<string>();
    const identity = await startHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const ok = verify(req.headers['x-gateway-assertion'], {
        method: req.method ?? '',
        path: url.pathname,
        requestId: String(req.headers['x-request-id']),
      }).ok;
      if (!ok) return void res.writeHead(401).end();
      if (url.pathname === '/internal/revocations') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ events: [], cursor: '0' }));
      }
      // A slow lookup: the client gives up while the gateway waits for it.
      lookedUp.add(url.pathname.split('/').at(-1) ?? '');
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'active', member: true, tenantId: 'tenant-1', roles: ['member'] }));
      }, 150);
    });
    after(() => identity.close());
    const upstream = await startEchoUpstream();
    const gw = await startTestGateway({
      upstream,
      assertionSecret: secret,
      config: {
        identity: { url: identity.url, userLookup: { cacheSeconds: 0 } },
        upstreams: { echo: { url: upstream.url, maxConcurrent: 4 } },
      },
    });
    after(async () => {
      await gw.close();
      await upstream.close();
    });
    const { port } = new URL(gw.url);

    const abandon = async (sub: string) => {
      const token = await gw.token({ sub, tid: 'tenant-1' });
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`GET /api/items HTTP/1.1\r\nhost: gw\r\nauthorization: Bearer ${token}\r\n\r\n`);
      // Leave once the gateway is certainly mid-pipeline: waiting for this user's lookup.
      while (!lookedUp.has(sub)) await new Promise((r) => setTimeout(r, 5));
      socket.destroy();
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => abandon(`gone-${i}`)));
    await new Promise((r) => setTimeout(r, 400)); // every lookup has answered by now

    assert.equal(upstream.seen.length, 0, 'nothing was sent upstream for clients that were gone');
    const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
      upstreams: { inFlight: number }[];
    };
    assert.equal(health.upstreams[0]?.inFlight, 0, 'no concurrency slot leaked');
    const res = await fetch(`${gw.url}/api/items`, {
      headers: { authorization: `Bearer ${await gw.token({ sub: 'stays', tid: 'tenant-1' })}` },
    });
    assert.equal(res.status, 200, 'the gateway keeps serving');
    const logged = gw.logs.lines.filter((l) => l.msg === 'request' && l.status === 499);
    assert.equal(logged.length, 20, 'each abandoned request is logged once, as 499');
  });

  it('cancels the upstream request of a client that leaves while the upstream answers slowly', async () => {
    let cancelled = 0;
    const upstream = await startEchoUpstream((req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) cancelled++;
      });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part');
      // …and the rest never comes: the client leaves before it does.
      void req;
    });
    const gw = await startTestGateway({
      upstream,
      config: { upstreams: { echo: { url: upstream.url, maxConcurrent: 2 } } },
    });
    after(async () => {
      await gw.close();
      await upstream.close();
    });
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController();
      const res = await fetch(`${gw.url}/api/public/slow`, { signal: controller.signal });
      assert.equal(res.status, 200);
      controller.abort();
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(cancelled, 5, 'every upstream request was cancelled');
    const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
      upstreams: { inFlight: number }[];
    };
    assert.equal(health.upstreams[0]?.inFlight, 0);
  });
});
