import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pace } from './open-loop.ts';

test('pace sends each request at its due time, not one interval after it', async () => {
  const calls: { n: number; due: number; at: number }[] = [];
  const started = performance.now();
  const done = pace(200, 10, (n, due) => calls.push({ n, due, at: performance.now() }), started);
  // Request 0 is due at the start: it goes out at once, before the first timer tick.
  assert.equal(calls.length, 1);
  await done;
  assert.deepEqual(
    calls.map((c) => c.n),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  for (const c of calls) {
    assert.equal(c.due, started + c.n * 5, 'due every 1/rate from the start');
    assert.ok(c.at >= c.due, `request ${c.n} went out before it was due`);
  }
});
