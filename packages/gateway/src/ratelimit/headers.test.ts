import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rateLimitHeaders } from './headers.ts';
import { MemoryRateLimiter } from './memory.ts';
import type { RateLimitDecision, RateLimitPolicy } from './types.ts';

const policy: RateLimitPolicy = { name: 'free', limit: 600, windowSeconds: 60 };

function decision(over: Partial<RateLimitDecision>): RateLimitDecision {
  return {
    allowed: true,
    limit: 600,
    remaining: 599,
    resetSeconds: 1,
    retryAfterSeconds: 0,
    policy,
    degraded: false,
    ...over,
  };
}

describe('rateLimitHeaders', () => {
  it('puts RateLimit and RateLimit-Policy on an allowed answer, without Retry-After', () => {
    assert.deepEqual(rateLimitHeaders(decision({})), {
      'RateLimit-Policy': '"free";q=600;w=60',
      RateLimit: '"free";r=599;t=1',
    });
  });

  it('adds Retry-After to a refusal', () => {
    assert.deepEqual(
      rateLimitHeaders(decision({ allowed: false, remaining: 0, resetSeconds: 60, retryAfterSeconds: 7 })),
      {
        'RateLimit-Policy': '"free";q=600;w=60',
        RateLimit: '"free";r=0;t=60',
        'Retry-After': '7',
      },
    );
  });

  it('describes the local share when degraded (what is actually enforced)', () => {
    const local: RateLimitPolicy = { name: 'free', limit: 300, windowSeconds: 60 };
    const headers = rateLimitHeaders(decision({ limit: 300, remaining: 299, policy: local, degraded: true }));
    assert.equal(headers['RateLimit-Policy'], '"free";q=300;w=60');
  });

  it('writes a valid structured-field string whatever the policy name', () => {
    const odd = { ...policy, name: 'we"ird\\ näme' };
    const headers = rateLimitHeaders(decision({ policy: odd }));
    assert.equal(headers.RateLimit, '"we\\"ird\\\\ n_me";r=599;t=1');
    assert.match(
      headers['RateLimit-Policy'] ?? '',
      /^"(?:[\x20-\x21\x23-\x5b\x5d-\x7e]|\\["\\])*";q=\d+;w=\d+$/,
    );
  });

  it('follows a real limiter from allowed to refused', async () => {
    const limiter = new MemoryRateLimiter();
    const p: RateLimitPolicy = { name: 'anonymous', limit: 2, windowSeconds: 60 };
    const t0 = 1_700_000_000_000;
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(rateLimitHeaders(await limiter.check('ip:192.0.2.1', p, t0)));
    assert.deepEqual(answers, [
      { 'RateLimit-Policy': '"anonymous";q=2;w=60', RateLimit: '"anonymous";r=1;t=30' },
      { 'RateLimit-Policy': '"anonymous";q=2;w=60', RateLimit: '"anonymous";r=0;t=60' },
      { 'RateLimit-Policy': '"anonymous";q=2;w=60', RateLimit: '"anonymous";r=0;t=60', 'Retry-After': '30' },
    ]);
  });
});
