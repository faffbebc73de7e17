import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { createAssertionSigner } from '../assertion.ts';
import { parseConfig } from '../config.ts';
import { captureLogger, randomSecret } from '../testing.ts';
import { baseServiceConfig, checkServiceEnv, pickServiceEnv, serviceEnvShape } from './config.ts';
import { startService } from './lifecycle.ts';

function migrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-kit-mig-'));
  writeFileSync(join(dir, '20261201000000-init.sql'), 'create table things (id int primary key);');
  return dir;
}

function configFor(env: Record<string, string>) {
  const schema = z
    .object(serviceEnvShape('DEMO'))
    .strict()
    .superRefine((e, ctx) =>
      checkServiceEnv('DEMO', e, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message })),
    );
  const e = parseConfig(schema, pickServiceEnv(env, 'DEMO'), 'demo');
  return baseServiceConfig('DEMO', e, { name: 'demo', port: 4999 });
}

describe('the service template', () => {
  it('derives the base config from <PREFIX>_ variables and refuses unknown ones and dev-only settings', () => {
    const secret = randomSecret();
    const config = configFor({ GATEWAY_ASSERTION_SECRET: secret, DEMO_DB_MEMORY: 'true', OTHER_X: '1' });
    assert.equal(config.port, 4999);
    assert.deepEqual(config.database, { kind: 'memory' });
    assert.match(config.dataDir, /\.data\/demo$/);
    assert.deepEqual(config.trustedProxies, ['127.0.0.1', '::1']);
    assert.throws(() => configFor({ GATEWAY_ASSERTION_SECRET: secret, DEMO_PROT: '1' }), /DEMO_PROT/);
    assert.throws(
      () => configFor({ GATEWAY_ASSERTION_SECRET: secret, NODE_ENV: 'production', DEMO_DB_MEMORY: '1' }),
      /DEMO_DB_MEMORY: is development-only/,
    );
    assert.throws(() => configFor({}), /GATEWAY_ASSERTION_SECRET/);
  });

  it('migrates, serves probes and signed identities, runs timers, and closes resources in reverse', async () => {
    const config = configFor({ GATEWAY_ASSERTION_SECRET: randomSecret(), DEMO_DB_MEMORY: 'true' });
    const log = captureLogger('demo', 'info');
    const parts = await startService({ name: 'demo', prefix: 'DEMO', migrationsDir: migrations() }, config, {
      logger: log.logger,
    });
    const closed: string[] = [];
    parts.onClose('first', () => closed.push('first'));
    parts.onClose('second', () => closed.push('second'));
    parts.onClose('broken', () => {
      throw new Error('boom');
    });
    let ticks = 0;
    parts.every(5, 'ticking', () => {
      ticks++;
      throw new Error('tick failed');
    });
    parts.app.get('/whoami', { preHandler: parts.hooks.user }, async (req) => ({ sub: req.identity?.sub }));
    const handle = await parts.finish();

    await parts.db.query('insert into things values (1)');
    assert.equal((await handle.app.inject('/ready')).statusCode, 200);
    const anonymous = await handle.app.inject('/whoami');
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().code, 'DEMO_UNAUTHENTICATED');
    const sign = createAssertionSigner(config.assertionKeys);
    const who = await handle.app.inject({
      url: '/whoami',
      headers: {
        'x-request-id': 'r1',
        'x-gateway-assertion': sign(
          { sub: 'u1', tid: 't1', roles: [] },
          { method: 'GET', path: '/whoami', requestId: 'r1' },
        ),
      },
    });
    assert.deepEqual(who.json(), { sub: 'u1' });

    await new Promise((r) => setTimeout(r, 30));
    assert.ok(ticks >= 1);
    assert.ok(log.lines.some((l) => l.msg === 'ticking failed'));
    await handle.close();
    await handle.close();
    assert.deepEqual(closed, ['second', 'first']);
    const after = ticks;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(ticks, after, 'timers stop at close');
    await assert.rejects(parts.db.query('select 1'));
  });

  it('closes its own database when the migrations fail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-kit-mig-'));
    writeFileSync(join(dir, '20261201000000-bad.sql'), 'create tabel nope;');
    const config = configFor({ GATEWAY_ASSERTION_SECRET: randomSecret(), DEMO_DB_MEMORY: 'true' });
    await assert.rejects(
      startService({ name: 'demo', prefix: 'DEMO', migrationsDir: dir }, config, {
        logger: captureLogger().logger,
      }),
    );
  });
});
