import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawGet, rawRequest, startTestGateway, type TestGateway } from './harness.ts';

/**
 * One access-log line per request, with request id, route, upstream, status,
 * duration, user and tenant; and never a token, valid or not, anywhere in
 * the logs.
 */
describe('access log', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw.close());

  function accessLines(requestId: string): Record<string, unknown>[] {
    return gw.logs.lines.filter((l) => l.msg === 'request' && l.requestId === requestId);
  }

  async function settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 50));
  }

  it('writes one line for a proxied authenticated request with every field', async () => {
    const token = await gw.token({ sub: 'user-log', tid: 'tenant-log' });
    const res = await fetch(`${gw.url}/api/items/9`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'access-log-0001' },
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    await settle();
    const lines = accessLines('access-log-0001');
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const line = lines[0] as Record<string, unknown>;
    assert.equal(line.route, '/api');
    assert.equal(line.upstream, 'echo');
    assert.equal(line.status, 200);
    assert.equal(typeof line.durationMs, 'number');
    assert.ok((line.durationMs as number) >= 0);
    assert.equal(line.userId, 'user-log');
    assert.equal(line.tenantId, 'tenant-log');
    assert.equal(line.method, 'GET');
  });

  it('writes one line for refused requests too (401, 404, 400)', async () => {
    const cases: [string, string[], number][] = [
      ['/api/items', ['X-Request-Id: access-log-0401'], 401],
      ['/nowhere', ['X-Request-Id: access-log-0404'], 404],
      ['/api/public/%2e%2e%2fadmin', ['X-Request-Id: access-log-0400'], 400],
    ];
    for (const [target, headers, status] of cases) {
      const res = await rawRequest(gw.url, rawGet(target, headers));
      assert.equal(res.status, status);
    }
    await settle();
    for (const [, headers, status] of cases) {
      const id = (headers[0] as string).split(': ')[1] as string;
      const lines = accessLines(id);
      assert.equal(lines.length, 1, `${id}: ${JSON.stringify(lines)}`);
      assert.equal(lines[0]?.status, status);
      assert.equal(lines[0]?.userId, undefined);
    }
  });

  it('never logs a token, valid, invalid or oversized, nor the Authorization header', async () => {
    const valid = await gw.token({ sub: 'user-secret-log' });
    const forged = `${valid.slice(0, -10)}AAAAAAAAAA`;
    const oversized = await gw.token({ extraClaims: { pad: 'p'.repeat(5_000) } });
    const refusedTypes = await gw.token({ typ: 'JWT' });
    for (const token of [valid, forged, oversized, refusedTypes, 'not-a-jwt-at-all-9f8e7d']) {
      await (
        await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}` } })
      ).arrayBuffer();
    }
    // Twice in two headers (raw socket).
    await rawRequest(
      gw.url,
      rawGet('/api/items', [`Authorization: Bearer ${valid}`, `Authorization: Bearer ${forged}`]),
    );
    await settle();
    const text = gw.logs.text();
    for (const token of [valid, forged, oversized, refusedTypes, 'not-a-jwt-at-all-9f8e7d']) {
      assert.ok(!text.includes(token), 'a token appears in the logs');
      const signature = token.split('.')[2];
      if (signature !== undefined)
        assert.ok(!text.includes(signature), 'a token signature appears in the logs');
      const payload = token.split('.')[1];
      if (payload !== undefined) assert.ok(!text.includes(payload), 'a token payload appears in the logs');
    }
    assert.ok(!/bearer /i.test(text), 'an Authorization value appears in the logs');
  });
});
