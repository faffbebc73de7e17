import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BODY } from '../upstream.ts';
import { startControlledUpstream } from './control-upstream.ts';

const status = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
    async (r) => {
      await r.arrayBuffer();
      return r.status;
    },
    (err: Error) => (err.name === 'TimeoutError' ? 'timeout' : 'refused'),
  );

test('the controlled upstream answers 200, then fails, hangs, goes down and comes back as told', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-control-upstream-'));
  const up = await startControlledUpstream({ pinning: { enabled: false, reason: 'test' }, dir }, 'up');
  t.after(async () => {
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const ok = await fetch(`${up.url}/x`);
  assert.deepEqual(Buffer.from(await ok.arrayBuffer()), BODY);
  await up.setMode('fail');
  assert.equal(await status(`${up.url}/x`), 500);
  await up.setMode('hang');
  assert.equal(await status(`${up.url}/x`), 'timeout');
  await up.setMode('down');
  assert.equal(await status(`${up.url}/x`), 'refused');
  await up.setMode('ok');
  assert.equal(await status(`${up.url}/x`), 200);
  await up.setDelay(150);
  const started = performance.now();
  assert.equal(await status(`${up.url}/x`), 200);
  assert.ok(performance.now() - started >= 140);
});
