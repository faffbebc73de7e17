import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureBuilt, isFresh, STAMP_FILE, sourceStamp } from './build.ts';

function fakeBuild(calls: string[]) {
  return async (outDir: string, stamp: string) => {
    calls.push(outDir);
    await new Promise((r) => setTimeout(r, 50));
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'index.html'), '<!doctype html>');
    writeFileSync(join(outDir, STAMP_FILE), `${stamp}\n`);
  };
}

describe('build on start', () => {
  it('builds a missing dist once, however many processes ask at the same time', async () => {
    const distDir = join(mkdtempSync(join(tmpdir(), 'gh-web-build-')), 'dist');
    const calls: string[] = [];
    const results = await Promise.all([1, 2, 3].map(() => ensureBuilt({ distDir, build: fakeBuild(calls) })));
    assert.deepEqual(results.sort(), [false, false, true]);
    assert.equal(calls.length, 1);
    assert.ok(existsSync(join(distDir, 'index.html')));
    assert.ok(!existsSync(`${distDir}.lock`));
    assert.equal(await ensureBuilt({ distDir, build: fakeBuild(calls) }), false);
  });

  it('rebuilds when the stamp differs from the sources', async () => {
    const distDir = join(mkdtempSync(join(tmpdir(), 'gh-web-build-')), 'dist');
    mkdirSync(distDir);
    writeFileSync(join(distDir, 'index.html'), 'old');
    writeFileSync(join(distDir, STAMP_FILE), 'stale\n');
    assert.equal(isFresh(distDir, sourceStamp()), false);
    const calls: string[] = [];
    assert.equal(await ensureBuilt({ distDir, build: fakeBuild(calls) }), true);
    assert.equal(readFileSync(join(distDir, 'index.html'), 'utf8'), '<!doctype html>');
    assert.equal(isFresh(distDir, sourceStamp()), true);
  });

  it('fails, keeping the old dist, when a build writes no index.html', async () => {
    const distDir = join(mkdtempSync(join(tmpdir(), 'gh-web-build-')), 'dist');
    mkdirSync(distDir);
    writeFileSync(join(distDir, 'index.html'), 'old');
    await assert.rejects(
      ensureBuilt({ distDir, build: async (outDir) => void mkdirSync(outDir, { recursive: true }) }),
      /no index.html/,
    );
    assert.equal(readFileSync(join(distDir, 'index.html'), 'utf8'), 'old');
    assert.ok(!existsSync(`${distDir}.lock`));
  });

  it('changes the stamp when an app file changes', () => {
    const app = mkdtempSync(join(tmpdir(), 'gh-web-app-'));
    writeFileSync(join(app, 'a.ts'), 'one');
    const first = sourceStamp(app);
    writeFileSync(join(app, 'a.ts'), 'two');
    assert.notEqual(sourceStamp(app), first);
  });
});
