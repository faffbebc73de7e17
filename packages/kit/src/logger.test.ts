import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, LOG_LEVELS, type LogLevel, REDACT_PATHS } from './logger.ts';
import { captureLogger, randomSecret } from './testing.ts';

function memoryLogger(level?: LogLevel) {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger(
    level === undefined ? { service: 'svc-x', destination } : { service: 'svc-x', level, destination },
  );
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, text, lines };
}

describe('createLogger', () => {
  it('writes one JSON object per line with the level as a label, service, pid and an ISO time', () => {
    const { logger, lines, text } = memoryLogger();
    logger.info({ route: '/x' }, 'hello');
    logger.warn('careful');
    assert.equal(text().split('\n').filter(Boolean).length, 2);
    const [first, second] = lines();
    assert.equal(first?.level, 'info');
    assert.equal(first?.msg, 'hello');
    assert.equal(first?.route, '/x');
    assert.equal(first?.service, 'svc-x');
    assert.equal(first?.pid, process.pid);
    assert.equal(typeof first?.time, 'string');
    assert.ok(!Number.isNaN(Date.parse(first?.time as string)));
    assert.match(first?.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(second?.level, 'warn');
    assert.equal(second?.msg, 'careful');
  });

  it('defaults to info and honours a given level', () => {
    const byDefault = memoryLogger();
    byDefault.logger.debug('hidden');
    byDefault.logger.info('shown');
    assert.deepEqual(
      byDefault.lines().map((l) => l.msg),
      ['shown'],
    );

    const debug = memoryLogger('debug');
    debug.logger.trace('hidden');
    debug.logger.debug('shown');
    assert.deepEqual(
      debug.lines().map((l) => l.level),
      ['debug'],
    );

    const silent = memoryLogger('silent');
    silent.logger.fatal('nothing');
    assert.equal(silent.text(), '');
    assert.ok(LOG_LEVELS.includes('silent'));
  });

  it('serializes errors with type, message and stack', () => {
    const { logger, lines } = memoryLogger();
    logger.error({ err: new TypeError('bad thing') }, 'failed');
    const err = lines()[0]?.err as Record<string, unknown>;
    assert.equal(err.type, 'TypeError');
    assert.equal(err.message, 'bad thing');
    assert.match(err.stack as string, /TypeError: bad thing/);
  });
});

describe('createLogger redaction', () => {
  const topLevel = ['authorization', 'cookie', 'password', 'token', 'accessToken', 'refreshToken', 'secret'];
  const oneLevel = [
    'authorization',
    'cookie',
    'set-cookie',
    'password',
    'newPassword',
    'currentPassword',
    'token',
    'accessToken',
    'refreshToken',
    'secret',
  ];

  it('redacts credentials at the top level', () => {
    const { logger, lines, text } = captureLogger();
    const values = new Map(topLevel.map((key) => [key, `v-${key}-${randomSecret()}`]));
    logger.info(Object.fromEntries(values), 'top level');
    const line = lines[0] ?? {};
    for (const [key, value] of values) {
      assert.equal(line[key], '[redacted]', key);
      assert.ok(!text().includes(value), `${key} leaked`);
    }
    assert.equal(line.msg, 'top level');
  });

  it('redacts credentials one level down, whatever the parent is called', () => {
    const { logger, lines, text } = captureLogger();
    const values = new Map(oneLevel.map((key) => [key, `v-${key}-${randomSecret()}`]));
    logger.info({ body: Object.fromEntries(values), other: { user: 'ann' } }, 'one level');
    const body = lines[0]?.body as Record<string, unknown>;
    for (const [key, value] of values) {
      assert.equal(body[key], '[redacted]', key);
      assert.ok(!text().includes(value), `${key} leaked`);
    }
    assert.deepEqual(lines[0]?.other, { user: 'ann' });
  });

  it('redacts request and response headers, including the gateway assertion', () => {
    const { logger, lines, text } = captureLogger();
    const bearer = `Bearer ${randomSecret()}`;
    const cookie = `sid=${randomSecret()}`;
    const assertion = `eyJ.${randomSecret()}.${randomSecret()}`;
    const setCookie = `sid=${randomSecret()}; HttpOnly`;
    logger.info(
      {
        req: {
          method: 'GET',
          url: '/tickets',
          headers: {
            authorization: bearer,
            cookie,
            'x-gateway-assertion': assertion,
            accept: 'application/json',
          },
        },
        res: { statusCode: 200, headers: { 'set-cookie': [setCookie], 'content-type': 'text/plain' } },
      },
      'request',
    );
    logger.info(
      { headers: { authorization: bearer, cookie, 'x-gateway-assertion': assertion, host: 'a' } },
      'bare',
    );
    const req = lines[0]?.req as { headers: Record<string, unknown>; url: string };
    const res = lines[0]?.res as { headers: Record<string, unknown> };
    assert.equal(req.headers.authorization, '[redacted]');
    assert.equal(req.headers.cookie, '[redacted]');
    assert.equal(req.headers['x-gateway-assertion'], '[redacted]');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.url, '/tickets');
    assert.equal(res.headers['set-cookie'], '[redacted]');
    assert.equal(res.headers['content-type'], 'text/plain');
    const bare = lines[1]?.headers as Record<string, unknown>;
    assert.equal(bare.authorization, '[redacted]');
    assert.equal(bare.cookie, '[redacted]');
    assert.equal(bare['x-gateway-assertion'], '[redacted]');
    assert.equal(bare.host, 'a');
    for (const value of [bearer, cookie, assertion, setCookie]) assert.ok(!text().includes(value), value);
  });

  it('redacts fields of child logger bindings too', () => {
    const { logger, text, lines } = captureLogger();
    const token = randomSecret();
    logger.child({ token, user: 'ann' }).info('from child');
    assert.equal(lines[0]?.token, '[redacted]');
    assert.equal(lines[0]?.user, 'ann');
    assert.ok(!text().includes(token));
  });

  it('documents every path it redacts', () => {
    // Guards against a path being dropped from the list by accident.
    for (const key of topLevel) assert.ok(REDACT_PATHS.includes(key), key);
    for (const key of oneLevel) {
      assert.ok(REDACT_PATHS.includes(key.includes('-') ? `*["${key}"]` : `*.${key}`), key);
    }
    for (const path of [
      'req.headers.authorization',
      'req.headers.cookie',
      'req.headers["x-gateway-assertion"]',
      'res.headers["set-cookie"]',
      'headers["x-gateway-assertion"]',
    ]) {
      assert.ok(REDACT_PATHS.includes(path), path);
    }
  });
});
