import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type StartedServer, startHttpServer } from '@gatehouse/kit/testing';
import { problemOf, rawRequest, startTestGateway, type TestGateway } from './harness.ts';

/**
 * Body caps: a declared body above the route's maxBodyBytes is refused before
 * the upstream is contacted; a streamed (chunked) body that grows past it is
 * cut, answered 413, and the upstream never receives more than the limit; a
 * body under the limit is streamed through byte for byte.
 */

const LIMIT = 64 * 1024;

interface CountingUpstream {
  readonly server: StartedServer;
  /** Per request: bytes received, and whether it ended or was cut. */
  readonly requests: { url: string; bytes: number; sha256: string; ended: boolean; aborted: boolean }[];
}

async function startCountingUpstream(): Promise<CountingUpstream> {
  const requests: CountingUpstream['requests'] = [];
  const server = await startHttpServer((req: IncomingMessage, res) => {
    const record = { url: req.url ?? '', bytes: 0, sha256: '', ended: false, aborted: false };
    requests.push(record);
    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => {
      record.bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      record.ended = true;
      record.sha256 = hash.digest('hex');
      const body = JSON.stringify({ bytes: record.bytes, sha256: record.sha256 });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    req.on('aborted', () => {
      record.aborted = true;
    });
    req.on('error', () => {
      record.aborted = true;
    });
  });
  return { server, requests };
}

describe('body limits', () => {
  let upstream: CountingUpstream;
  let gw: TestGateway;
  before(async () => {
    upstream = await startCountingUpstream();
    gw = await startTestGateway({
      config: {
        upstreams: { counting: { url: upstream.server.url, timeout: 'fast' } },
        routes: [
          { prefix: '/small', upstream: 'counting', public: ['POST *'], maxBodyBytes: LIMIT },
          { prefix: '/big', upstream: 'counting', public: ['POST *', 'PUT *'] },
        ],
      },
    });
  });
  after(async () => {
    await gw.close();
    await upstream.server.close();
  });

  it("refuses a Content-Length above the route's maxBodyBytes with 413 before contacting the upstream", async () => {
    const before = upstream.requests.length;
    const res = await rawRequest(
      gw.url,
      `POST /small/upload HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: ${LIMIT + 1}\r\n\r\n${'x'.repeat(1024)}`,
      { waitForCloseMs: 1_000 },
    );
    assert.equal(res.status, 413);
    assert.equal(res.headers['content-type'], 'application/problem+json');
    assert.equal(JSON.parse(res.body).code, 'GW_PAYLOAD_TOO_LARGE');
    assert.equal(res.closed, true, 'an unread body must not be parsed as the next request');
    assert.equal(upstream.requests.length, before);
  });

  it('refuses a Content-Length above the global limit on any route (fetch)', async () => {
    const before = upstream.requests.length;
    const res = await fetch(`${gw.url}/big/upload`, { method: 'POST', body: Buffer.alloc(1_048_577) }).catch(
      (err: unknown) => err as Error,
    );
    if (res instanceof Error) assert.fail(`the client saw no answer: ${res.message}`);
    assert.equal(res.status, 413);
    assert.equal((await problemOf(res)).code, 'GW_PAYLOAD_TOO_LARGE');
    assert.equal(upstream.requests.length, before);
  });

  it('accepts a Content-Length exactly at the limit', async () => {
    const body = randomBytes(LIMIT);
    const res = await fetch(`${gw.url}/small/upload`, { method: 'POST', body });
    assert.equal(res.status, 200);
    const echoed = (await res.json()) as { bytes: number; sha256: string };
    assert.equal(echoed.bytes, LIMIT);
    assert.equal(echoed.sha256, createHash('sha256').update(body).digest('hex'));
  });

  it('cuts a chunked body that grows past the limit: 413, and the upstream never gets more than the limit', async () => {
    const before = upstream.requests.length;
    const piece = 'y'.repeat(16 * 1024);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    const res = await rawRequest(
      gw.url,
      'POST /small/stream HTTP/1.1\r\nHost: gateway.test\r\nTransfer-Encoding: chunked\r\n\r\n',
      { followUp: Array.from({ length: 16 }, () => chunk), delayMs: 30, waitForCloseMs: 1_000 },
    );
    assert.equal(res.status, 413, res.raw.slice(0, 300));
    assert.equal(JSON.parse(res.body).code, 'GW_PAYLOAD_TOO_LARGE');
    await new Promise((r) => setTimeout(r, 200));
    const reached = upstream.requests.slice(before);
    for (const request of reached) {
      assert.ok(request.bytes <= LIMIT, `the upstream received ${request.bytes} bytes (limit ${LIMIT})`);
      assert.equal(request.ended, false, 'the upstream saw a complete request');
    }
  });

  it('cuts a chunked body sent in one go past the limit', async () => {
    const before = upstream.requests.length;
    const piece = 'z'.repeat(LIMIT + 10);
    const res = await rawRequest(
      gw.url,
      `POST /small/stream HTTP/1.1\r\nHost: gateway.test\r\nTransfer-Encoding: chunked\r\n\r\n${piece.length.toString(16)}\r\n${piece}\r\n0\r\n\r\n`,
    );
    assert.equal(res.status, 413, res.raw.slice(0, 300));
    await new Promise((r) => setTimeout(r, 200));
    for (const request of upstream.requests.slice(before)) {
      assert.ok(request.bytes <= LIMIT, `the upstream received ${request.bytes} bytes`);
      assert.equal(request.ended, false);
    }
  });

  it('streams a 512 KiB body under the limit through intact (Content-Length)', async () => {
    const body = randomBytes(512 * 1024);
    const res = await fetch(`${gw.url}/big/upload`, { method: 'POST', body });
    assert.equal(res.status, 200);
    const echoed = (await res.json()) as { bytes: number; sha256: string };
    assert.equal(echoed.bytes, body.length);
    assert.equal(echoed.sha256, createHash('sha256').update(body).digest('hex'));
  });

  it('streams a 512 KiB chunked body under the limit through intact', async () => {
    const body = randomBytes(512 * 1024);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < body.length; i += 64 * 1024) controller.enqueue(body.subarray(i, i + 64 * 1024));
        controller.close();
      },
    });
    const res = await fetch(`${gw.url}/big/upload`, {
      method: 'PUT',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 200);
    const echoed = (await res.json()) as { bytes: number; sha256: string };
    assert.equal(echoed.bytes, body.length);
    assert.equal(echoed.sha256, createHash('sha256').update(body).digest('hex'));
  });
});

describe('large answers', () => {
  const answer = randomBytes(2 * 1024 * 1024);
  let upstream: StartedServer;
  let gw: TestGateway;
  before(async () => {
    upstream = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // Written in pieces without a length: the gateway streams it through.
      for (let i = 0; i < answer.length; i += 256 * 1024) res.write(answer.subarray(i, i + 256 * 1024));
      res.end();
    });
    gw = await startTestGateway({
      config: {
        upstreams: { blob: { url: upstream.url, timeout: 'fast' } },
        routes: [{ prefix: '/blob', upstream: 'blob', public: ['GET /**'] }],
      },
    });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('streams a 2 MiB upstream answer back intact (no response body cap)', async () => {
    const res = await fetch(`${gw.url}/blob/file`);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.length, answer.length);
    assert.equal(
      createHash('sha256').update(body).digest('hex'),
      createHash('sha256').update(answer).digest('hex'),
    );
  });
});
