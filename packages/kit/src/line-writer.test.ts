import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LineWriter } from './line-writer.ts';
import { createLogger } from './logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'line-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fileWriter(name: string, options: Partial<ConstructorParameters<typeof LineWriter>[0]> = {}) {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const writer = new LineWriter({ fd, ...options });
  const flushed = () => new Promise<void>((resolve) => writer.flush(() => resolve()));
  const lines = () => readFileSync(path, 'utf8').split('\n').filter(Boolean);
  const close = () => {
    writer.close();
    closeSync(fd);
  };
  return { writer, flushed, lines, close };
}

describe('LineWriter', () => {
  it('writes every line, in order, in fewer writes than lines', async () => {
    const out = fileWriter('order.log', { batchBytes: 1024 });
    for (let i = 0; i < 5000; i++) out.writer.writeLine(`{"n":${i}}\n`, false);
    await out.flushed();
    const lines = out.lines();
    assert.equal(lines.length, 5000);
    assert.deepEqual(
      lines.map((line) => JSON.parse(line).n),
      lines.map((_, i) => i),
    );
    assert.equal(out.writer.dropped, 0);
    assert.equal(out.writer.pendingBytes, 0);
    out.close();
  });

  it('writes a lone line within its flush interval, without a flush call', async () => {
    const out = fileWriter('interval.log', { flushMs: 20 });
    out.writer.writeLine('{"only":1}\n', false);
    assert.deepEqual(out.lines(), [], 'nothing is written on the caller’s turn');
    const deadline = Date.now() + 5000;
    while (out.lines().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(out.lines(), ['{"only":1}']);
    out.close();
  });

  it('past the soft limit drops droppable lines and counts them, keeps the rest up to the hard limit', async () => {
    // A batch larger than the limits: nothing is written until the flush, so the bounds decide.
    const out = fileWriter('bounded.log', {
      batchBytes: 1 << 30,
      softLimitBytes: 100,
      hardLimitBytes: 200,
      flushMs: 60_000,
    });
    const line = (n: number) => `{"n":"${String(n).padStart(3, '0')}"}\n`; // 12 bytes
    for (let n = 0; n < 8; n++) out.writer.writeLine(line(n), false); // 96 bytes: all kept
    out.writer.writeLine(line(8), false); // 108 > 100: dropped
    for (let n = 9; n < 17; n++) out.writer.writeLine(line(n), true); // kept up to 192 bytes
    out.writer.writeLine(line(17), true); // 204 > 200: dropped
    assert.equal(out.writer.dropped, 2);
    await out.flushed();
    const kept = out.lines().map((l) => Number(JSON.parse(l).n));
    assert.deepEqual(kept, [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16]);
    out.close();
  });

  it('is pino’s destination: lines at warn and above count as worth keeping', async () => {
    const out = fileWriter('pino.log', { batchBytes: 1 << 30, softLimitBytes: 1, flushMs: 60_000 });
    const logger = createLogger({ service: 'svc', destination: out.writer as never });
    logger.info('dropped: past the soft limit');
    logger.warn('kept');
    logger.error('kept too');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    assert.deepEqual(
      out.lines().map((l) => JSON.parse(l).msg),
      ['kept', 'kept too'],
    );
    assert.equal(out.writer.dropped, 1);
    out.close();
  });

  it('loses nothing through a slow pipe, and writes what is pending at exit', async () => {
    // A child process logs 20,000 lines through createLogger (a LineWriter on its stdout, a pipe
    // read slowly here) and exits at once: every line arrives, whole and in order.
    const code = `
      import { createLogger } from ${JSON.stringify(new URL('./logger.ts', import.meta.url).href)};
      const logger = createLogger({ service: 'pipe' });
      for (let n = 0; n < 20000; n++) logger.warn({ n }, 'line');
      setTimeout(() => process.exit(0), 50);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 1);
    });
    const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(exit, 0);
    const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 20000);
    assert.deepEqual(
      lines.map((line) => JSON.parse(line).n),
      lines.map((_, n) => n),
    );
  });
});
