import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { areaOf, summarise } from './cpuprofile.ts';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });

test('areas: packages, Gatehouse folders, Node internals, GC', () => {
  assert.equal(areaOf(frame('x', 'file:///r/node_modules/jose/dist/a.js')), 'npm:jose');
  assert.equal(areaOf(frame('x', 'file:///r/node_modules/@scope/pkg/a.js')), 'npm:@scope/pkg');
  assert.equal(
    areaOf(frame('x', 'file:///r/packages/gateway/src/stages/proxy.ts')),
    'gatehouse:gateway/stages',
  );
  assert.equal(areaOf(frame('x', 'file:///r/packages/kit/src/assertion.ts')), 'gatehouse:kit');
  assert.equal(areaOf(frame('x', 'node:internal/streams/pipeline')), 'node:streams');
  assert.equal(areaOf(frame('(garbage collector)', '')), 'GC');
});

test('self time inside the window only, inclusive time for Gatehouse functions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpuprofile-test-'));
  try {
    const path = join(dir, 'p.cpuprofile');
    const stage = 'file:///r/packages/gateway/src/stages/authenticate.ts';
    writeFileSync(
      path,
      JSON.stringify({
        startTime: 1_000,
        endTime: 2_000,
        nodes: [
          { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
          { id: 2, callFrame: frame('authenticate', stage), children: [3] },
          { id: 3, callFrame: frame('verify', 'file:///r/node_modules/jose/v.js'), children: [] },
          { id: 4, callFrame: frame('(idle)', ''), children: [] },
        ],
        // at 1100 (before the window), then 1200, 1300, 1400, 1500
        samples: [3, 2, 3, 3, 4],
        timeDeltas: [100, 100, 100, 100, 100],
      }),
    );
    const s = summarise(path, { fromUs: 1_150, toUs: 1_600 });
    assert.equal(s.totalMs, 0.3);
    assert.equal(s.idleMs, 0.1);
    assert.equal(s.functions[0]?.area, 'npm:jose');
    assert.equal(s.functions[0]?.ms, 0.2);
    assert.equal(s.own[0]?.ms, 0.3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
