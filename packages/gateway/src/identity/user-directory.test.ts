import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { captureLogger, randomSecret, startHttpServer } from '@gatehouse/kit/testing';
import { UserDirectory } from './user-directory.ts';

/** The directory against a real HTTP server, with an injected clock for cache ages. */
async function setup(answer: { status: number; body?: unknown }) {
  const state = { calls: 0, ...answer };
  const server = await startHttpServer((_req, res) => {
    state.calls++;
    res.writeHead(state.status, { 'content-type': 'application/json' });
    res.end(state.body === undefined ? '' : JSON.stringify(state.body));
  });
  after(() => server.close());
  let clock = 1_000_000;
  const results: string[] = [];
  const directory = new UserDirectory({
    identityUrl: server.url,
    assertionKeys: [{ kid: 'gw1', secret: randomSecret() }],
    logger: captureLogger().logger,
    cacheMs: 1_000,
    staleMs: 10_000,
    timeoutMs: 500,
    maxEntries: 3,
    onLookup: (r) => results.push(r),
    now: () => clock,
  });
  return { state, directory, results, tick: (ms: number) => (clock += ms) };
}

const active = { status: 'active', tenantId: 't1', member: true, roles: ['admin'] };

describe('UserDirectory', () => {
  it('serves a stale record while the service fails, until it is too old', async () => {
    const { state, directory, results, tick } = await setup({ status: 200, body: active });
    assert.deepEqual(await directory.lookup('u1', 't1'), {
      status: 'active',
      member: true,
      roles: ['admin'],
    });
    tick(2_000);
    state.status = 500;
    assert.equal((await directory.lookup('u1', 't1')).status, 'active');
    tick(9_000);
    await assert.rejects(directory.lookup('u1', 't1'), { code: 'IDENTITY_UNAVAILABLE' });
    assert.deepEqual(results, ['miss', 'miss', 'stale', 'miss', 'unavailable']);
  });

  it('refuses malformed answers and answers about another tenant', async () => {
    const { state, directory } = await setup({
      status: 200,
      body: { status: 'active', member: 'yes', roles: [] },
    });
    await assert.rejects(directory.lookup('u1', 't1'), { code: 'IDENTITY_UNAVAILABLE' });
    state.body = { ...active, tenantId: 't2' };
    assert.deepEqual(await directory.lookup('u2', 't1'), { status: 'active', member: false, roles: [] });
    state.status = 404;
    assert.equal((await directory.lookup('u3', 't1')).status, 'unknown');
  });

  it('opens its breaker after repeated failures and stops calling', async () => {
    const { state, directory } = await setup({ status: 503 });
    for (let i = 0; i < 10; i++) await assert.rejects(directory.lookup(`u${i}`, 't1'));
    assert.equal(directory.breaker.state, 'open');
    const calls = state.calls;
    await assert.rejects(directory.lookup('u-next', 't1'), /circuit open/);
    assert.equal(state.calls, calls);
  });

  it('keeps at most maxEntries, and invalidates by user or tenant', async () => {
    const { directory } = await setup({ status: 200, body: active });
    for (const sub of ['a', 'b', 'c', 'd']) await directory.lookup(sub, 't1');
    assert.equal(directory.size, 3);
    directory.invalidate({ sub: 'c' });
    assert.equal(directory.size, 2);
    directory.invalidate({ tid: 't1' });
    assert.equal(directory.size, 0);
  });
});

describe('UserDirectory and invalidations during a lookup', () => {
  it('does not keep an answer that was in flight when the user was invalidated', async () => {
    const { state, directory } = await setup({ status: 200, body: active });
    const pending = directory.lookup('u1', 't1');
    directory.invalidate({ sub: 'u1' });
    assert.equal((await pending).status, 'active', 'the request that asked still gets its answer');
    assert.equal(directory.cached('u1', 't1'), undefined, 'but it is not cached');
    await directory.lookup('u1', 't1');
    assert.equal(state.calls, 2);
    assert.notEqual(directory.cached('u1', 't1'), undefined);
  });
});
