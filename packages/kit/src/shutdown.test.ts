import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, type IncomingMessage, request } from 'node:http';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { handleProbe, Readiness } from './health.ts';
import { installGracefulShutdown, type Resource } from './shutdown.ts';
import { captureLogger, type StartedServer, startHttpServer } from './testing.ts';

interface Reply {
  status: number;
  body: string;
  socket: Socket;
}

/** A GET on its own new connection, or on `agent`'s (keep-alive) connections. */
function get(url: string, agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let socket: Socket | undefined;
    const req = request(url, { agent: agent ?? false }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket: socket as Socket }));
      res.on('error', reject);
    });
    req.on('socket', (s) => {
      socket = s;
    });
    req.on('error', reject);
    req.end();
  });
}

/** A server with `/slow?ms=N` (answers after N ms), `/hang` (never answers), `/ready` and `/` (at once). */
async function appServer(readiness?: Readiness): Promise<StartedServer> {
  return startHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (readiness !== undefined && handleProbe(readiness, req, res, url.pathname)) return;
    if (url.pathname === '/slow') {
      setTimeout(() => res.end('slow done'), Number(url.searchParams.get('ms') ?? '300'));
      return;
    }
    if (url.pathname === '/hang') return;
    res.end('ok');
  });
}

/** Whether the socket is closed, or closes within `ms`. */
async function closesWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return true;
  return Promise.race([once(socket, 'close').then(() => true), delay(ms, false, { ref: false })]);
}

function exitSpy() {
  const calls: number[] = [];
  return { calls, exit: (code: number) => void calls.push(code) };
}

function messages(lines: readonly Record<string, unknown>[]): string[] {
  return lines.map((line) => String(line.msg));
}

describe('installGracefulShutdown', () => {
  it('marks readiness at once, lets an in-flight request finish, then stops listening', async () => {
    const readiness = new Readiness();
    const app = await appServer(readiness);
    const { logger, lines } = captureLogger('shutdown-test', 'info');
    const spy = exitSpy();
    const handle = installGracefulShutdown({
      logger,
      servers: [app.server],
      readiness,
      signals: [],
      exit: spy.exit,
    });
    try {
      assert.equal(handle.stopping, false);
      const inFlight = get(`${app.url}/slow?ms=300`);
      await delay(50);
      const started = performance.now();
      const done = handle.shutdown('test');
      // Synchronously: readiness is 503 before any await.
      assert.equal(readiness.shuttingDown, true);
      assert.equal(handle.stopping, true);
      assert.equal((await readiness.evaluate()).status, 'shutting_down');

      const reply = await inFlight;
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'slow done');
      assert.equal(await done, 0);
      assert.ok(performance.now() - started >= 200, 'waited for the in-flight request');
      assert.equal(app.server.listening, false);
      await assert.rejects(get(`${app.url}/`), { code: 'ECONNREFUSED' });
      assert.deepEqual(spy.calls, [], 'shutdown() resolves with the code; only the signal handler exits');
      const msgs = messages(lines);
      assert.equal(msgs[0], 'shutdown: started, readiness now 503');
      assert.ok(msgs.includes('shutdown: listeners closed, in-flight requests done'));
      assert.equal(msgs.at(-1), 'shutdown: done');
      assert.equal(lines.at(-1)?.code, 0);
      assert.equal(lines[0]?.reason, 'test');
    } finally {
      await app.close();
    }
  });

  it('closes idle keep-alive sockets instead of waiting for the client to drop them', async () => {
    const app = await appServer();
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    const { logger } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({ logger, servers: [app.server], signals: [], deadlineMs: 5000 });
    try {
      const first = await get(`${app.url}/`, agent);
      assert.equal(first.body, 'ok');
      await delay(20);
      assert.equal(first.socket.destroyed, false, 'the keep-alive socket stays open and idle');
      const started = performance.now();
      assert.equal(await handle.shutdown('test'), 0);
      assert.ok(
        performance.now() - started < 1000,
        'did not wait for the keep-alive timeout or the deadline',
      );
      assert.equal(await closesWithin(first.socket, 500), true, 'the server closed the idle socket');
    } finally {
      agent.destroy();
      await app.close();
    }
  });

  it('closes a keep-alive socket that turns idle after its in-flight response', async () => {
    const app = await appServer();
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    const { logger } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({ logger, servers: [app.server], signals: [], deadlineMs: 5000 });
    try {
      const inFlight = get(`${app.url}/slow?ms=200`, agent);
      await delay(50);
      const started = performance.now();
      const code = handle.shutdown('test');
      const reply = await inFlight;
      assert.equal(reply.body, 'slow done');
      assert.equal(await code, 0);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 1000, `took ${elapsed} ms`);
      assert.equal(await closesWithin(reply.socket, 500), true, 'the server closed the socket once idle');
    } finally {
      agent.destroy();
      await app.close();
    }
  });

  it('closes resources in reverse order, after the servers have drained', async () => {
    const app = await appServer();
    const admin = await appServer();
    const events: string[] = [];
    app.server.on('close', () => events.push('server app'));
    admin.server.on('close', () => events.push('server admin'));
    const resource = (name: string): Resource => ({
      name,
      async close() {
        await delay(10);
        events.push(`resource ${name}`);
      },
    });
    const { logger, lines } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({
      logger,
      servers: [app.server, admin.server],
      resources: [
        resource('db'),
        resource('redis'),
        { name: 'sync', close: () => void events.push('resource sync') },
      ],
      signals: [],
    });
    try {
      assert.equal(await handle.shutdown('test'), 0);
      assert.deepEqual(events.slice(0, 2).sort(), ['server admin', 'server app']);
      assert.deepEqual(events.slice(2), ['resource sync', 'resource redis', 'resource db']);
      assert.deepEqual(
        lines.filter((l) => l.msg === 'shutdown: closed').map((l) => l.resource),
        ['sync', 'redis', 'db'],
      );
    } finally {
      await app.close();
      await admin.close();
    }
  });

  it('exits with 1 when a resource fails to close, and still closes the others', async () => {
    const app = await appServer();
    const closed: string[] = [];
    const { logger, lines } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({
      logger,
      servers: [app.server],
      resources: [
        { name: 'first', close: () => void closed.push('first') },
        {
          name: 'throws',
          close: () => {
            throw new Error('sync close failure');
          },
        },
        { name: 'rejects', close: () => Promise.reject(new Error('async close failure')) },
        { name: 'last', close: () => void closed.push('last') },
      ],
      signals: [],
    });
    try {
      assert.equal(await handle.shutdown('test'), 1);
      assert.deepEqual(closed, ['last', 'first']);
      const failures = lines.filter((l) => l.msg === 'shutdown: resource failed to close');
      assert.deepEqual(
        failures.map((l) => [l.resource, (l.err as { message: string }).message]),
        [
          ['rejects', 'async close failure'],
          ['throws', 'sync close failure'],
        ],
      );
      assert.equal(lines.at(-1)?.code, 1);
    } finally {
      await app.close();
    }
  });

  it('exits with 1 and closes the connections when the deadline passes with a request still hanging', async () => {
    const app = await appServer();
    const closedResources: string[] = [];
    const { logger, lines } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({
      logger,
      servers: [app.server],
      resources: [{ name: 'db', close: () => void closedResources.push('db') }],
      deadlineMs: 300,
      signals: [],
    });
    try {
      const hanging = get(`${app.url}/hang`).then(
        () => 'answered',
        (err: NodeJS.ErrnoException) => err.code,
      );
      await delay(50);
      const started = performance.now();
      const code = await handle.shutdown('test');
      const elapsed = performance.now() - started;
      assert.equal(code, 1);
      assert.ok(elapsed >= 250 && elapsed < 1500, `took ${elapsed} ms`);
      const outcome = await Promise.race([hanging, delay(2000, 'still hanging', { ref: false })]);
      assert.equal(outcome, 'ECONNRESET', 'the hanging connection was closed');
      assert.deepEqual(closedResources, ['db'], 'resources are still closed');
      assert.ok(messages(lines).includes('shutdown: deadline reached with requests in flight'));
      assert.ok(!messages(lines).includes('shutdown: listeners closed, in-flight requests done'));
    } finally {
      await app.close();
    }
  });

  it('exits with 1 when a resource is still closing at the deadline', async () => {
    const app = await appServer();
    const { logger, lines } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({
      logger,
      servers: [app.server],
      resources: [{ name: 'stuck', close: () => new Promise(() => {}) }],
      deadlineMs: 200,
      signals: [],
    });
    try {
      const started = performance.now();
      assert.equal(await handle.shutdown('test'), 1);
      assert.ok(performance.now() - started < 1000);
      assert.ok(
        !lines.some((l) => l.msg === 'shutdown: closed' && l.resource === 'stuck'),
        'a resource that did not close is not logged as closed',
      );
      assert.ok(
        lines.some(
          (l) => l.msg === 'shutdown: deadline reached before the resource closed' && l.resource === 'stuck',
        ),
      );
    } finally {
      await app.close();
    }
  });

  it('keeps accepting during drainDelayMs while readiness already says 503', async () => {
    const readiness = new Readiness();
    const app = await appServer(readiness);
    const { logger } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({
      logger,
      servers: [app.server],
      readiness,
      drainDelayMs: 400,
      signals: [],
    });
    try {
      const started = performance.now();
      const code = handle.shutdown('test');
      await delay(100);
      assert.equal(app.server.listening, true, 'still listening during the drain delay');
      const ready = await get(`${app.url}/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(JSON.parse(ready.body), { status: 'shutting_down' });
      const work = await get(`${app.url}/`);
      assert.equal(work.body, 'ok', 'new requests are still served');
      assert.equal(await code, 0);
      assert.ok(performance.now() - started >= 390, 'waited for the drain delay');
      assert.equal(app.server.listening, false);
    } finally {
      await app.close();
    }
  });

  it('ends the drain delay at the deadline', async () => {
    const app = await appServer();
    const { logger } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({
      logger,
      servers: [app.server],
      drainDelayMs: 10_000,
      deadlineMs: 200,
      signals: [],
    });
    try {
      const started = performance.now();
      await handle.shutdown('test');
      assert.ok(performance.now() - started < 1000);
    } finally {
      await app.close();
    }
  });

  it('starts only once: a second call returns the same promise', async () => {
    const app = await appServer();
    let closes = 0;
    const { logger, lines } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({
      logger,
      servers: [app.server],
      resources: [{ name: 'r', close: () => void closes++ }],
      signals: [],
    });
    try {
      const first = handle.shutdown('first');
      const second = handle.shutdown('second');
      assert.equal(first, second);
      assert.equal(await first, 0);
      assert.equal(await handle.shutdown('third'), 0);
      assert.equal(closes, 1);
      assert.deepEqual(
        lines.filter((l) => l.msg === 'shutdown: started, readiness now 503').map((l) => l.reason),
        ['first'],
      );
    } finally {
      await app.close();
    }
  });

  it('copes with a server that is not listening and with no resources', async () => {
    const app = await appServer();
    await app.close();
    const { logger } = captureLogger('shutdown-test', 'info');
    const handle = installGracefulShutdown({ logger, servers: [app.server], signals: [] });
    assert.equal(await handle.shutdown('test'), 0);
  });

  it('on SIGTERM in a real process: finishes the in-flight request and exits with 0', async () => {
    const kit = (name: string) => JSON.stringify(fileURLToPath(new URL(`./${name}`, import.meta.url)));
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        import { installGracefulShutdown } from ${kit('shutdown.ts')};
        import { Readiness } from ${kit('health.ts')};
        import { createLogger } from ${kit('logger.ts')};
        import { startHttpServer } from ${kit('testing.ts')};
        const app = await startHttpServer((req, res) => setTimeout(() => res.end('slow done'), 300));
        const logger = createLogger({ service: 'child', destination: process.stderr });
        installGracefulShutdown({ logger, servers: [app.server], readiness: new Readiness() });
        process.stdout.write(app.url + '\\n');
        `,
      ],
      { cwd: fileURLToPath(new URL('.', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const [firstChunk] = (await once(child.stdout, 'data')) as [Buffer];
      const url = String(firstChunk).trim();
      const inFlight = get(url);
      await delay(50);
      child.kill('SIGTERM');
      const reply = await inFlight;
      assert.equal(reply.body, 'slow done');
      const [code, signal] = await exited;
      assert.equal(signal, null, stderr);
      assert.equal(code, 0, stderr);
      const lines = stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines[0]?.reason, 'SIGTERM');
      assert.equal(lines.at(-1)?.msg, 'shutdown: done');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
