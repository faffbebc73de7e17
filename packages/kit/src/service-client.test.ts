import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import { ASSERTION_HEADER, createAssertionVerifier } from './assertion.ts';
import { isPlatformServiceIdentity } from './service-assertion.ts';
import { createServiceClient } from './service-client.ts';
import { randomSecret, type StartedServer, startHttpServer } from './testing.ts';

describe('the service client', () => {
  const keys = [{ kid: 'gw1', secret: randomSecret() }];
  const verify = createAssertionVerifier(keys);
  let handle: (req: IncomingMessage, res: ServerResponse, body: string) => void = () => {};
  const servers: StartedServer[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));

  async function target(): Promise<string> {
    const server = await startHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c;
      });
      req.on('end', () => handle(req, res, body));
    });
    servers.push(server);
    return `${server.url}/base/`;
  }

  const client = (baseUrl: string, extra: { timeoutMs?: number; maxBodyBytes?: number } = {}) =>
    createServiceClient({
      baseUrl,
      service: 'chat',
      assertionKeys: keys,
      timeoutMs: extra.timeoutMs ?? 2_000,
      maxBodyBytes: extra.maxBodyBytes ?? 1024,
    });

  it('signs each call as the platform service, bound to method and path; sends and reads JSON', async () => {
    const call = client(await target());
    let seen: { url?: string; body?: string; key?: string; platform?: boolean } = {};
    handle = (req, res, body) => {
      const path = (req.url ?? '').replace(/^\/base/, '').split('?')[0] as string;
      const result = verify(req.headers[ASSERTION_HEADER], {
        method: req.method ?? '',
        path,
        requestId: String(req.headers['x-request-id']),
      });
      seen = {
        url: req.url,
        body,
        key: String(req.headers['idempotency-key']),
        platform:
          result.ok && isPlatformServiceIdentity(result.identity) && result.identity.sub === 'service:chat',
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"counted":true}');
    };
    const answer = await call({
      method: 'POST',
      path: '/internal/usage/reports',
      query: '?x=1',
      headers: { 'idempotency-key': 'k1' },
      body: { reports: [] },
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { counted: true });
    assert.deepEqual(seen, {
      url: '/base/internal/usage/reports?x=1',
      body: '{"reports":[]}',
      key: 'k1',
      platform: true,
    });
  });

  it('answers problem+json bodies and bodiless answers as they are', async () => {
    const call = client(await target());
    handle = (_req, res) =>
      res.writeHead(503, { 'content-type': 'application/problem+json' }).end('{"code":"BILL_INTERNAL"}');
    const problem = await call({ method: 'GET', path: '/x' });
    assert.deepEqual([problem.status, problem.body], [503, { code: 'BILL_INTERNAL' }]);
    handle = (_req, res) => res.writeHead(204).end();
    const empty = await call({ method: 'GET', path: '/x' });
    assert.deepEqual([empty.status, empty.body], [204, undefined]);
  });

  it('a slow answer is a timeout; a large or unparsable one is unreadable', async () => {
    const url = await target();
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
      // Never finished: only the deadline ends the call.
    };
    await assert.rejects(client(url, { timeoutMs: 200 })({ method: 'GET', path: '/slow' }), {
      code: 'SERVICE_CALL_TIMEOUT',
    });
    handle = (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(`"${'x'.repeat(2048)}"`);
    await assert.rejects(client(url)({ method: 'GET', path: '/large' }), {
      code: 'SERVICE_ANSWER_UNREADABLE',
    });
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`"${'x'.repeat(600)}`);
      res.end(`${'x'.repeat(600)}"`);
    };
    await assert.rejects(client(url)({ method: 'GET', path: '/chunked' }), {
      code: 'SERVICE_ANSWER_UNREADABLE',
    });
    handle = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{nope');
    await assert.rejects(client(url)({ method: 'GET', path: '/garbage' }), {
      code: 'SERVICE_ANSWER_UNREADABLE',
    });
  });

  it('the caller’s own abort is not a timeout; a refused connection is the transport’s error', async () => {
    const url = await target();
    handle = () => {};
    const controller = new AbortController();
    const pending = client(url)({ method: 'GET', path: '/held', signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, (err: Error & { code?: string }) => err.code !== 'SERVICE_CALL_TIMEOUT');
    const closed = await target();
    await servers.pop()?.close();
    await assert.rejects(client(closed)({ method: 'GET', path: '/' }), (err: Error & { code?: string }) => {
      return err.code !== 'SERVICE_CALL_TIMEOUT' && err.code !== 'SERVICE_ANSWER_UNREADABLE';
    });
  });
});
