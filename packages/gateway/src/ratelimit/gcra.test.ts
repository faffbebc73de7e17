import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gcraDecision, gcraParams, gcraStep } from './gcra.ts';
import type { RateLimitPolicy } from './types.ts';

const policy: RateLimitPolicy = { name: 'p', limit: 10, windowSeconds: 60 };

describe('gcraParams', () => {
  it('sets T = window / limit and τ = T × burst, burst defaulting to the limit', () => {
    assert.deepEqual(gcraParams(policy), { intervalUs: 6_000_000, toleranceUs: 60_000_000 });
    assert.deepEqual(gcraParams({ ...policy, burst: 2 }), { intervalUs: 6_000_000, toleranceUs: 12_000_000 });
  });

  it('rounds T up to a whole microsecond (stricter, never looser)', () => {
    const { intervalUs } = gcraParams({ name: 'p', limit: 7, windowSeconds: 60 });
    assert.equal(intervalUs, 8_571_429);
    assert.ok(intervalUs * 7 >= 60_000_000);
  });

  it('refuses invalid policies with a code', () => {
    for (const bad of [
      { ...policy, limit: 0 },
      { ...policy, limit: 1.5 },
      { ...policy, windowSeconds: 0 },
      { ...policy, windowSeconds: Number.NaN },
      { ...policy, burst: 0 },
      { ...policy, name: '' },
    ]) {
      assert.throws(() => gcraParams(bad), { code: 'RATELIMIT_INVALID_POLICY' }, JSON.stringify(bad));
    }
  });
});

describe('gcraStep and gcraDecision', () => {
  const params = gcraParams(policy);
  const t0 = 1_700_000_000_000_000;

  function run(steps: number, nowUs: number, start?: number) {
    let tat = start;
    const decisions = [];
    for (let i = 0; i < steps; i++) {
      const outcome = gcraStep(tat, nowUs, params);
      if (outcome.allowed) tat = outcome.newTatUs;
      decisions.push(gcraDecision(outcome, nowUs, params, policy, false));
    }
    return { decisions, tat };
  }

  it('allows exactly `burst` at once, counting remaining down to 0', () => {
    const { decisions } = run(11, t0);
    assert.deepEqual(
      decisions.map((d) => d.allowed),
      [...new Array(10).fill(true), false],
    );
    assert.deepEqual(
      decisions.slice(0, 10).map((d) => d.remaining),
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    );
    assert.deepEqual(
      decisions.map((d) => d.retryAfterSeconds),
      [...new Array(10).fill(0), 6],
    );
    // All ten spent: the full quota is back in one window.
    assert.equal(decisions[9]?.resetSeconds, 60);
    assert.equal(decisions[10]?.resetSeconds, 60);
    assert.equal(decisions[10]?.remaining, 0);
  });

  it('lets one more through per emission interval after the burst', () => {
    const { tat } = run(10, t0);
    assert.equal(gcraStep(tat, t0 + 5_999_999, params).allowed, false);
    const later = gcraStep(tat, t0 + 6_000_000, params);
    assert.equal(later.allowed, true);
    assert.equal(gcraDecision(later, t0 + 6_000_000, params, policy, false).remaining, 0);
  });

  it('gives the wait until the next allowed request as Retry-After, rounded up to ≥ 1 s', () => {
    const { tat } = run(10, t0);
    const refused = gcraStep(tat, t0 + 5_500_000, params);
    assert.equal(refused.allowed, false);
    const d = gcraDecision(refused, t0 + 5_500_000, params, policy, false);
    assert.equal(d.retryAfterSeconds, 1);
    assert.equal(d.resetSeconds, 55);
  });

  it('treats a TAT in the past like an absent key', () => {
    const past = gcraStep(t0 - 1, t0, params);
    const fresh = gcraStep(undefined, t0, params);
    assert.deepEqual(past, fresh);
  });

  it('stays exact over a large burst with a fractional interval', () => {
    const big: RateLimitPolicy = { name: 'big', limit: 12_000, windowSeconds: 7 };
    const p = gcraParams(big);
    let tat: number | undefined;
    let allowed = 0;
    for (let i = 0; i < 12_001; i++) {
      const o = gcraStep(tat, t0, p);
      if (o.allowed) {
        tat = o.newTatUs;
        allowed++;
      }
    }
    assert.equal(allowed, 12_000);
  });
});
