import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram } from './histogram.ts';
import { median } from './stats.ts';

test('percentiles at microsecond resolution below 10 ms', () => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 100; i++) h.record(i / 100); // 0.01 … 1.00 ms
  assert.equal(h.count, 100);
  assert.equal(h.percentile(50), 0.5);
  assert.equal(h.percentile(99), 0.99);
  assert.equal(h.percentile(100), 1);
});

test('slow answers land in 100 µs buckets, and an empty histogram has no percentile', () => {
  const h = new LatencyHistogram();
  h.record(25.04);
  assert.equal(h.percentile(50), 25);
  assert.ok(Number.isNaN(new LatencyHistogram().percentile(50)));
});

test('median ignores NaN and averages the middle pair', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([Number.NaN, 5]), 5);
  assert.ok(Number.isNaN(median([])));
});

test('a snapshot merged into another histogram adds its counts', () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  for (let i = 1; i <= 50; i++) a.record(i / 100); // 0.01 … 0.50 ms
  for (let i = 51; i <= 100; i++) b.record(i / 100); // 0.51 … 1.00 ms
  b.record(2_000);
  a.merge(b.snapshot());
  assert.equal(a.count, 101);
  assert.equal(a.percentile(50), 0.51);
  assert.equal(a.percentile(100), 2_000);
  assert.equal(b.count, 51, 'the snapshot is a copy: b is unchanged');
  assert.throws(() => a.merge(new Uint32Array(3)), /3 buckets/);
});
