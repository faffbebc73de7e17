import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { captureLogger, closeServer, listenOnRandomPort, randomSecret, startHttpServer } from './testing.ts';

describe('testing helpers', () => {
  it('randomSecret gives base64url of the asked number of bytes, different each time', () => {
    const a = randomSecret();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a, 'base64url').length, 32);
    assert.notEqual(randomSecret(), a);
    assert.equal(Buffer.from(randomSecret(16), 'base64url').length, 16);
  });

  it('startHttpServer listens on a random port of 127.0.0.1 and close() stops it', async () => {
    const a = await startHttpServer((req, res) => res.end(`hello ${req.url}`));
    const b = await startHttpServer((_req, res) => res.end('b'));
    assert.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(a.url, b.url);
    assert.equal(await (await fetch(`${a.url}/x`)).text(), 'hello /x');
    await a.close();
    await b.close();
    assert.equal(a.server.listening, false);
    await assert.rejects(fetch(a.url));
    await a.close(); // closing twice is fine
  });

  it('listenOnRandomPort and closeServer work on any node:http server', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    const url = await listenOnRandomPort(server);
    assert.equal(await (await fetch(url)).text(), 'ok');
    await closeServer(server);
    assert.equal(server.listening, false);
  });

  it('captureLogger keeps the lines parsed and the raw text, at the asked level', () => {
    const debug = captureLogger('svc-capture');
    debug.logger.debug({ n: 1 }, 'first');
    debug.logger.info('second');
    assert.deepEqual(
      debug.lines.map((l) => [l.level, l.msg, l.service]),
      [
        ['debug', 'first', 'svc-capture'],
        ['info', 'second', 'svc-capture'],
      ],
    );
    assert.equal(debug.text().split('\n').filter(Boolean).length, 2);
    const info = captureLogger(undefined, 'info');
    info.logger.debug('hidden');
    info.logger.info('shown');
    assert.deepEqual(
      info.lines.map((l) => [l.msg, l.service]),
      [['shown', 'test']],
    );
  });
});
