import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BreakerOptions, type BreakerState, CircuitBreaker } from './breaker.ts';

const options: BreakerOptions = {
  windowMs: 10_000,
  buckets: 10,
  minimumRequests: 10,
  failureRate: 0.5,
  openMs: 5_000,
  halfOpenProbes: 2,
  probeTimeoutMs: 1_000,
};

function breaker() {
  const changes: string[] = [];
  const b = new CircuitBreaker('up', options, (state: BreakerState, previous: BreakerState) =>
    changes.push(`${previous}->${state}`),
  );
  return { b, changes };
}

describe('CircuitBreaker', () => {
  it('stays closed below the minimum volume, whatever the failure rate', () => {
    const { b } = breaker();
    for (let i = 0; i < 9; i++) b.failure(false, 1_000);
    assert.equal(b.state, 'closed');
    assert.equal(b.acquire(1_000), 'yes');
  });

  it('opens at the failure rate over the window, refusing fast with a Retry-After', () => {
    const { b, changes } = breaker();
    for (let i = 0; i < 5; i++) b.success(false, 1_000);
    for (let i = 0; i < 4; i++) b.failure(false, 1_000);
    assert.equal(b.state, 'closed');
    b.failure(false, 1_500);
    assert.equal(b.state, 'open');
    assert.deepEqual(changes, ['closed->open']);
    assert.equal(b.acquire(2_000), 'no');
    assert.equal(b.retryAfterSeconds(2_000), 5);
    assert.equal(b.retryAfterSeconds(6_400), 1);
  });

  it('forgets failures that left the window', () => {
    const { b } = breaker();
    for (let i = 0; i < 9; i++) b.failure(false, 0);
    for (let i = 0; i < 10; i++) b.success(false, 11_000);
    b.failure(false, 11_500);
    assert.equal(b.state, 'closed', 'the nine old failures are out of the window');
    for (let i = 0; i < 10; i++) b.failure(false, 12_000);
    assert.equal(b.state, 'open');
  });

  it('half-opens after the open time, lets a bounded number of probes through, and closes when they succeed', () => {
    const { b, changes } = breaker();
    for (let i = 0; i < 10; i++) b.failure(false, 0);
    assert.equal(b.acquire(4_999), 'no');
    assert.equal(b.acquire(5_000), 'probe');
    assert.equal(b.state, 'half_open');
    assert.equal(b.acquire(5_001), 'probe');
    assert.equal(b.acquire(5_002), 'no', 'only two probes at a time');
    b.success(true, 5_100);
    assert.equal(b.state, 'half_open');
    assert.equal(b.acquire(5_150), 'no', 'one probe succeeded, one in flight: no more needed');
    b.success(true, 5_200);
    assert.equal(b.state, 'closed');
    assert.equal(b.acquire(5_300), 'yes');
    assert.deepEqual(changes, ['closed->open', 'open->half_open', 'half_open->closed']);
    assert.equal(b.retryAfterSeconds(), 1);
  });

  it('opens again when a probe fails, and frees the slot of a probe without outcome', () => {
    const { b } = breaker();
    for (let i = 0; i < 10; i++) b.failure(false, 0);
    assert.equal(b.acquire(5_000), 'probe');
    b.release(true);
    assert.equal(b.acquire(5_001), 'probe');
    b.failure(true, 5_100);
    assert.equal(b.state, 'open');
    assert.equal(b.acquire(5_200), 'no');
    assert.equal(b.acquire(10_100), 'probe');
    // While half-open only probes decide: other outcomes are counted but open or close nothing.
    b.success(true, 10_150);
    b.failure(false, 10_160);
    assert.equal(b.state, 'half_open');
    b.success(false, 10_170);
    b.release(false);
  });

  it('ignores a late probe outcome after it opened again', () => {
    const { b } = breaker();
    for (let i = 0; i < 10; i++) b.failure(false, 0);
    b.acquire(5_000);
    b.acquire(5_000);
    b.failure(true, 5_100);
    b.success(true, 5_200);
    assert.equal(b.state, 'open');
  });
});
