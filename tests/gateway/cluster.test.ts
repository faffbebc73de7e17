import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { randomSecret, startHttpServer } from '@gatehouse/kit/testing';

/**
 * `serve --workers 2`: real worker processes sharing one port, the primary's
 * admin listener answering for all of them, a dead worker replaced, SIGTERM
 * draining everything with exit code 0.
 */

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'packages/gateway/src/main.ts');

async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  ms: number,
  what: string,
): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('gateway cluster', () => {
  it('runs N workers on one port, aggregates their metrics, replaces a dead one and drains on SIGTERM', async () => {
    const upstream = await startHttpServer((_req, res) => res.end(`pid ${process.pid}`));
    after(() => upstream.close());
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-'));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `
listen: { port: 0 }
admin: { port: 0 }
auth: { issuer: https://auth.test, audience: gatehouse, hs256Secret: { env: JWT_SECRET } }
assertion: { keys: [ { kid: gw1, secret: { env: GATEWAY_ASSERTION_SECRET } } ] }
upstreams: { up: { url: ${upstream.url} } }
routes: [ { prefix: /api, upstream: up, public: ["GET /**"] } ]
`,
    );
    const child = spawn(process.execPath, [main, 'serve', '--config', config, '--workers', '2'], {
      env: {
        PATH: process.env.PATH ?? '',
        JWT_SECRET: randomSecret(),
        GATEWAY_ASSERTION_SECRET: randomSecret(),
      },
      stdio: 'pipe',
    });
    after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const lines = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);

    const adminUrl = await until(
      () => lines().find((l) => l.msg === 'cluster: primary up')?.adminUrl as string | undefined,
      15_000,
      'the primary',
    );
    const listening = await until(
      () => {
        const workers = lines().filter((l) => l.msg === 'listening' && l.worker !== undefined);
        return workers.length >= 2 ? workers : undefined;
      },
      15_000,
      'two workers',
    );
    const url = listening[0]?.url as string;
    assert.equal(listening[1]?.url, url, 'the workers share one port');

    for (let i = 0; i < 40; i++) assert.equal((await fetch(`${url}/api/x`)).status, 200);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    const served = [...metrics.matchAll(/^gateway_http_requests_total\{[^}]*status="200"[^}]*\} (\d+)$/gm)];
    assert.equal(
      served.reduce((sum, m) => sum + Number(m[1]), 0),
      40,
      'counted over both workers',
    );
    assert.match(metrics, /^gatehouse_service_info\{service="gateway",node_version="v24\.[^"]+"\} 1$/m);
    const ready = (await (await fetch(`${adminUrl}/ready`)).json()) as {
      status: string;
      workersReady: number;
    };
    assert.deepEqual(
      { status: ready.status, workersReady: ready.workersReady },
      { status: 'ready', workersReady: 2 },
    );

    const victim = listening[0]?.pid as number;
    process.kill(victim, 'SIGKILL');
    await until(
      () => lines().find((l) => l.msg === 'cluster: worker died, starting another'),
      5_000,
      'the replacement',
    );
    await until(
      async () => {
        const r = (await (await fetch(`${adminUrl}/ready`)).json()) as { workersReady: number };
        return r.workersReady === 2 ? true : undefined;
      },
      10_000,
      'two ready workers again',
    );
    assert.equal((await fetch(`${url}/api/x`)).status, 200);

    child.kill('SIGTERM');
    assert.equal(await exited, 0, out.slice(-2000));
    assert.equal(
      lines().filter((l) => l.msg === 'shutdown: done' && l.code === 0).length,
      2,
      'both workers drained',
    );
  });
});
