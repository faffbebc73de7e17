import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { handleProbe, Readiness, readinessHttpStatus, writeJson } from './health.ts';
import { type StartedServer, startHttpServer } from './testing.ts';

describe('Readiness.evaluate', () => {
  it('is ready with no checks', async () => {
    assert.deepEqual(await new Readiness().evaluate(), { status: 'ready', checks: {} });
  });

  it('is ready when every check passes, with sync, async, boolean and object results', async () => {
    const readiness = new Readiness();
    readiness.register('sync-bool', () => true);
    readiness.register('async-bool', async () => true);
    readiness.register('object', async () => ({ ok: true, detail: 'pong' }));
    const report = await readiness.evaluate();
    assert.equal(report.status, 'ready');
    assert.deepEqual(Object.keys(report.checks).sort(), ['async-bool', 'object', 'sync-bool']);
    assert.equal(report.checks.object?.ok, true);
    assert.equal(report.checks.object?.detail, 'pong');
    assert.equal(report.checks.object?.critical, true);
    assert.equal(typeof report.checks['sync-bool']?.ms, 'number');
  });

  it('is not ready when a critical check fails', async () => {
    const readiness = new Readiness();
    readiness.register('db', () => ({ ok: false, detail: 'connection refused' }));
    readiness.register('cache', () => true, { critical: false });
    const report = await readiness.evaluate();
    assert.equal(report.status, 'not_ready');
    assert.deepEqual(
      { ok: report.checks.db?.ok, detail: report.checks.db?.detail, critical: report.checks.db?.critical },
      { ok: false, detail: 'connection refused', critical: true },
    );
  });

  it('is only degraded when a non-critical check fails', async () => {
    const readiness = new Readiness();
    readiness.register('db', () => true);
    readiness.register('redis', async () => false, { critical: false });
    const report = await readiness.evaluate();
    assert.equal(report.status, 'degraded');
    assert.equal(report.checks.redis?.ok, false);
    assert.equal(report.checks.redis?.critical, false);
  });

  it('is degraded when a check passes in a reduced mode', async () => {
    const readiness = new Readiness();
    readiness.register('rate-limit', () => ({ ok: true, degraded: true, detail: 'local limiter' }));
    assert.equal((await readiness.evaluate()).status, 'degraded');
  });

  it('counts a check that throws or rejects as failed, with its message', async () => {
    const readiness = new Readiness();
    readiness.register('sync-throw', () => {
      throw new Error('sync boom');
    });
    readiness.register('async-throw', async () => {
      throw new Error('async boom');
    });
    const report = await readiness.evaluate();
    assert.equal(report.status, 'not_ready');
    assert.equal(report.checks['sync-throw']?.ok, false);
    assert.equal(report.checks['sync-throw']?.detail, 'sync boom');
    assert.equal(report.checks['async-throw']?.detail, 'async boom');
  });

  it('counts a check that rejects with a non-error as failed instead of failing the whole report', async () => {
    const readiness = new Readiness();
    readiness.register('null', () => Promise.reject(null));
    readiness.register('string', () => Promise.reject('nope'), { critical: false });
    readiness.register('fine', () => true);
    const report = await readiness.evaluate();
    assert.equal(report.status, 'not_ready');
    assert.equal(report.checks.null?.ok, false);
    assert.equal(report.checks.string?.ok, false);
    assert.equal(report.checks.string?.detail, 'nope');
    assert.equal(report.checks.fine?.ok, true);
  });

  it('cuts a hanging check at its timeout, and the whole report takes less than 2 s', async () => {
    const readiness = new Readiness();
    readiness.register('hangs-forever', () => new Promise<boolean>(() => {}), { timeoutMs: 100 });
    readiness.register('hangs-long', () => delay(5000, true, { ref: false }), {
      timeoutMs: 60_000,
      critical: false,
    });
    readiness.register('fast', () => true);
    const started = performance.now();
    const report = await readiness.evaluate();
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
    // The asked-for 60 s is capped at 1.5 s.
    assert.ok(elapsed >= 1400, `took only ${elapsed} ms`);
    assert.equal(report.status, 'not_ready');
    assert.deepEqual(
      { ok: report.checks['hangs-forever']?.ok, detail: report.checks['hangs-forever']?.detail },
      { ok: false, detail: 'timed out after 100 ms' },
    );
    assert.ok((report.checks['hangs-forever']?.ms ?? 0) >= 95);
    assert.equal(report.checks['hangs-long']?.detail, 'timed out after 1500 ms');
    assert.equal(report.checks.fast?.ok, true);
  });

  it('runs the checks in parallel', async () => {
    const readiness = new Readiness();
    for (const name of ['a', 'b', 'c', 'd']) readiness.register(name, () => delay(200, true));
    const started = performance.now();
    assert.equal((await readiness.evaluate()).status, 'ready');
    assert.ok(performance.now() - started < 600);
  });

  it('replaces a check registered again under the same name', async () => {
    const readiness = new Readiness();
    readiness.register('db', () => false);
    readiness.register('db', () => true);
    assert.equal((await readiness.evaluate()).status, 'ready');
  });

  it('reports shutting_down once marked, even with healthy checks', async () => {
    const readiness = new Readiness();
    readiness.register('db', () => true);
    assert.equal(readiness.shuttingDown, false);
    readiness.markShuttingDown();
    assert.equal(readiness.shuttingDown, true);
    const report = await readiness.evaluate();
    assert.equal(report.status, 'shutting_down');
    assert.equal(readinessHttpStatus(report.status), 503);
  });
});

describe('readinessHttpStatus', () => {
  it('is 200 for ready and degraded, 503 otherwise', () => {
    assert.equal(readinessHttpStatus('ready'), 200);
    assert.equal(readinessHttpStatus('degraded'), 200);
    assert.equal(readinessHttpStatus('not_ready'), 503);
    assert.equal(readinessHttpStatus('shutting_down'), 503);
  });
});

async function probeServer(readiness: Readiness, detail: boolean): Promise<StartedServer> {
  return startHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (handleProbe(readiness, req, res, path, { detail })) return;
    res.statusCode = 418;
    res.end('not a probe');
  });
}

function head(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'HEAD' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('handleProbe', () => {
  it('answers /live with 200 whatever the checks say', async () => {
    const readiness = new Readiness();
    readiness.register('db', () => false);
    const server = await probeServer(readiness, false);
    try {
      const res = await fetch(`${server.url}/live`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await res.json(), { status: 'live' });
    } finally {
      await server.close();
    }
  });

  it('answers /ready with 200 or 503 and only the status on the public listener', async () => {
    let dbUp = true;
    const readiness = new Readiness();
    readiness.register('db', () => ({ ok: dbUp, detail: 'db-internal-host:5432' }));
    const server = await probeServer(readiness, false);
    try {
      const up = await fetch(`${server.url}/ready`);
      assert.equal(up.status, 200);
      assert.deepEqual(await up.json(), { status: 'ready' });

      dbUp = false;
      const down = await fetch(`${server.url}/ready?verbose=1`);
      assert.equal(down.status, 503);
      const text = await down.text();
      assert.deepEqual(JSON.parse(text), { status: 'not_ready' });
      assert.ok(!text.includes('db-internal-host'));
      assert.equal(Number(down.headers.get('content-length')), Buffer.byteLength(text));
    } finally {
      await server.close();
    }
  });

  it('gives the detail of each check when asked (admin listener)', async () => {
    const readiness = new Readiness();
    readiness.register('db', () => true);
    readiness.register('redis', () => ({ ok: false, detail: 'down' }), { critical: false });
    const server = await probeServer(readiness, true);
    try {
      const res = await fetch(`${server.url}/ready`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { status: string; checks: Record<string, Record<string, unknown>> };
      assert.equal(body.status, 'degraded');
      assert.equal(body.checks.db?.ok, true);
      assert.equal(body.checks.redis?.ok, false);
      assert.equal(body.checks.redis?.detail, 'down');
      assert.equal(body.checks.redis?.critical, false);
    } finally {
      await server.close();
    }
  });

  it('answers 503 shutting_down once the process is shutting down', async () => {
    const readiness = new Readiness();
    const server = await probeServer(readiness, false);
    try {
      readiness.markShuttingDown();
      const res = await fetch(`${server.url}/ready`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: 'shutting_down' });
    } finally {
      await server.close();
    }
  });

  it('answers HEAD with the status and headers but no body', async () => {
    const readiness = new Readiness();
    readiness.register('db', () => false);
    const server = await probeServer(readiness, false);
    try {
      const ready = await head(`${server.url}/ready`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body, '');
      assert.equal(ready.headers['content-type'], 'application/json; charset=utf-8');
      const live = await head(`${server.url}/live`);
      assert.equal(live.status, 200);
      assert.equal(live.body, '');
    } finally {
      await server.close();
    }
  });

  it('returns false for other paths and other methods, so the caller goes on', async () => {
    const readiness = new Readiness();
    const server = await probeServer(readiness, false);
    try {
      for (const [path, method] of [
        ['/', 'GET'],
        ['/ready/', 'GET'],
        ['/lived', 'GET'],
        ['/ready', 'POST'],
        ['/live', 'DELETE'],
      ] as const) {
        const res = await fetch(`${server.url}${path}`, { method });
        assert.equal(res.status, 418, `${method} ${path}`);
        assert.equal(await res.text(), 'not a probe');
      }
    } finally {
      await server.close();
    }
  });
});

describe('writeJson', () => {
  it('does nothing once the response has started', async () => {
    const server = await startHttpServer((_req, res) => {
      res.writeHead(202, { 'content-type': 'text/plain' });
      writeJson(res, 500, { status: 'late' });
      res.end('first');
    });
    try {
      const res = await fetch(server.url);
      assert.equal(res.status, 202);
      assert.equal(await res.text(), 'first');
    } finally {
      await server.close();
    }
  });

  it('does nothing when the client has gone', async () => {
    let outcome: { destroyed: boolean; headersSent: boolean } | undefined;
    const readiness = new Readiness();
    readiness.register('slow', () => delay(300, true));
    const done = Promise.withResolvers<void>();
    const server = await startHttpServer((req, res) => {
      handleProbe(readiness, req, res, '/ready');
      res.on('close', () => {
        // The probe answers after the check; the socket is already gone by then.
        setTimeout(() => {
          outcome = { destroyed: res.destroyed, headersSent: res.headersSent };
          done.resolve();
        }, 400);
      });
    });
    try {
      const controller = new AbortController();
      const pending = fetch(`${server.url}/ready`, { signal: controller.signal }).catch(
        (err: unknown) => err,
      );
      await delay(50);
      controller.abort();
      assert.ok((await pending) instanceof Error);
      await done.promise;
      assert.deepEqual(outcome, { destroyed: true, headersSent: false });
    } finally {
      await server.close();
    }
  });
});
