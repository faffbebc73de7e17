import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAssertionVerifier, createServiceCallSigner, isPlatformServiceIdentity } from '@gatehouse/kit';
import { randomSecret } from '@gatehouse/kit/testing';
import { AccessCheckerClient, MAX_ANSWER_BYTES, parseAnswer } from './checker-client.ts';
import type { AccessQuery } from './decision-cache.ts';
import { checkerSchema } from './schema.ts';
import { closedPortUrl, json, startTestChecker, type TestChecker } from './testing.ts';

const keys = [{ kid: 'gw1', secret: randomSecret() }];
const sign = createServiceCallSigner(keys, 'gateway');
const query: AccessQuery = {
  checker: 'venue-access',
  tenantId: 't1',
  userId: 'u1',
  resourceType: 'venue',
  resourceId: 'v1',
  action: 'write',
};

function client(url: string, extra: Record<string, unknown> = {}): AccessCheckerClient {
  return new AccessCheckerClient('venue-access', checkerSchema.parse({ url, ...extra }), sign);
}

describe('parseAnswer', () => {
  it('accepts exactly {"allowed": boolean}', () => {
    assert.equal(parseAnswer('{"allowed":true}'), true);
    assert.equal(parseAnswer(' { "allowed" : false } '), false);
    for (const text of [
      '',
      'junk',
      'true',
      'null',
      '[]',
      '[true]',
      '{}',
      '{"allowed":"true"}',
      '{"allowed":1}',
      '{"allowed":null}',
      '{"Allowed":true}',
      '{"allowed":true,"reason":"x"}',
      '{"allowed":{"value":true}}',
    ]) {
      assert.equal(parseAnswer(text), undefined, text);
    }
  });
});

describe('AccessCheckerClient', () => {
  let checker: TestChecker;
  before(async () => {
    checker = await startTestChecker();
  });
  after(() => checker.close());

  it('posts the question, signed as the gateway service, and reads the answer', async () => {
    const c = client(checker.url);
    after(() => c.close());
    const outcome = await c.check(query, 'req-123');
    assert.deepEqual(outcome, { allowed: true, reason: 'allowed' });
    const call = checker.calls.at(-1);
    assert.equal(call?.method, 'POST');
    assert.equal(call?.url, '/internal/access');
    assert.equal(call?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(call?.text ?? ''), {
      tenantId: 't1',
      userId: 'u1',
      resourceType: 'venue',
      resourceId: 'v1',
      action: 'write',
    });
    assert.equal(call?.headers['x-request-id'], 'req-123');
    const verified = createAssertionVerifier(keys)(call?.headers['x-gateway-assertion'], {
      method: 'POST',
      path: '/internal/access',
      requestId: 'req-123',
    });
    assert.ok(verified.ok, JSON.stringify(verified));
    assert.ok(verified.ok && isPlatformServiceIdentity(verified.identity));
    assert.equal(verified.ok && verified.identity.sub, 'service:gateway');
    checker.deny.add('v1');
    assert.deepEqual(await c.check(query, 'req-124'), { allowed: false, reason: 'denied' });
    checker.deny.clear();
  });

  it('denies on every kind of bad answer', async () => {
    const c = client(checker.url);
    after(() => c.close());
    const cases: [string, (res: import('node:http').ServerResponse) => void, string][] = [
      ['500', (res) => json(res, 500, '{"allowed":true}'), 'error'],
      ['503', (res) => json(res, 503, ''), 'error'],
      ['403', (res) => json(res, 403, '{"allowed":true}'), 'error'],
      ['204', (res) => res.writeHead(204).end(), 'error'],
      ['302', (res) => res.writeHead(302, { location: '/elsewhere' }).end(), 'error'],
      ['junk', (res) => json(res, 200, 'yes please'), 'bad_answer'],
      ['string', (res) => json(res, 200, '{"allowed":"true"}'), 'bad_answer'],
      ['number', (res) => json(res, 200, '{"allowed":1}'), 'bad_answer'],
      ['empty object', (res) => json(res, 200, '{}'), 'bad_answer'],
      ['empty body', (res) => json(res, 200, ''), 'bad_answer'],
      ['extra member', (res) => json(res, 200, '{"allowed":true,"admin":true}'), 'bad_answer'],
      [
        'too large (declared)',
        (res) => json(res, 200, `{"allowed":true${' '.repeat(MAX_ANSWER_BYTES)}}`),
        'bad_answer',
      ],
      [
        'too large (chunked)',
        (res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"allowed":true');
          res.end(`${' '.repeat(MAX_ANSWER_BYTES)}}`);
        },
        'bad_answer',
      ],
      ['connection cut', (res) => res.socket?.destroy(), 'error'],
    ];
    for (const [name, answer, reason] of cases) {
      checker.answer = (_call, res) => answer(res);
      const outcome = await c.check(query, undefined);
      assert.equal(outcome.allowed, false, name);
      assert.equal(outcome.reason, reason, `${name}: ${JSON.stringify(outcome)}`);
    }
  });

  it('denies with reason timeout when the answer is slower than timeoutMs', async () => {
    const c = client(checker.url, { timeoutMs: 200 });
    after(() => c.close());
    checker.answer = (_call, res) => {
      const timer = setTimeout(() => json(res, 200, '{"allowed":true}'), 2_000);
      res.on('close', () => clearTimeout(timer));
    };
    const outcome = await c.check(query, undefined);
    assert.deepEqual(
      { allowed: outcome.allowed, reason: outcome.reason },
      { allowed: false, reason: 'timeout' },
    );
    // A body that starts in time but trickles past the deadline is a timeout too.
    checker.answer = (_call, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"allowed":');
      const timer = setTimeout(() => res.end('true}'), 2_000);
      res.on('close', () => clearTimeout(timer));
    };
    assert.equal((await c.check(query, undefined)).reason, 'timeout');
  });

  it('denies with reason error when nothing listens', async () => {
    const c = client(await closedPortUrl());
    after(() => c.close());
    const outcome = await c.check(query, undefined);
    assert.equal(outcome.allowed, false);
    assert.equal(outcome.reason, 'error');
    assert.match(outcome.detail ?? '', /ECONNREFUSED/);
  });

  it('opens its breaker after repeated failures and then denies without calling', async () => {
    const c = client(checker.url, { breaker: { minimumRequests: 5, openSeconds: 60 } });
    after(() => c.close());
    checker.answer = (_call, res) => json(res, 500, '');
    const before = checker.calls.length;
    for (let i = 0; i < 5; i++) assert.equal((await c.check(query, undefined)).reason, 'error');
    assert.equal(c.breaker.state, 'open');
    assert.equal(checker.calls.length - before, 5);
    checker.answer = (_call, res) => json(res, 200, '{"allowed":true}');
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(await c.check(query, undefined), { allowed: false, reason: 'circuit_open' });
    }
    assert.equal(checker.calls.length - before, 5, 'no call while open');
  });

  it('does not count 4xx answers against the breaker', async () => {
    const c = client(checker.url, { breaker: { minimumRequests: 3 } });
    after(() => c.close());
    checker.answer = (_call, res) => json(res, 404, '');
    for (let i = 0; i < 10; i++) assert.equal((await c.check(query, undefined)).reason, 'error');
    assert.equal(c.breaker.state, 'closed');
  });
});
