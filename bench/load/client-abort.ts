import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSigner, tokenPool } from '../lib/tokens.ts';
import { startGateway } from '../servers/gateway.ts';
import { startUpstream } from '../servers/upstream.ts';

/**
 * Clients that give up mid-request must not wedge the gateway. Opens
 * BENCH_ABORTS (default 3000) connections, 20 at a time, each sending one
 * request with a fresh token and closing its socket 0–1 ms later (while the
 * gateway verifies the token or waits for the upstream). Then checks that a
 * normal request still gets through, and that SIGTERM shuts the gateway down
 * cleanly and promptly. Loopback only, bounded in count and time.
 *
 *   node load/client-abort.ts        (inside bench/, Node 24)
 */
const ABORTS = Number(process.env.BENCH_ABORTS ?? 3000);
const pinning = { enabled: false, reason: 'not needed for a correctness check' };
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-client-abort-'));
const signer = createSigner('EdDSA');
const pool = tokenPool(signer, 2_000);
const upstream = await startUpstream({ pinning, dir });
const gateway = await startGateway({ pinning, dir }, upstream.url, signer, { name: 'gateway-client-abort' });
const port = Number(new URL(gateway.url).port);
const results: { check: string; ok: boolean; detail: string }[] = [];

try {
  let sent = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (sent < ABORTS) {
        const token = pool[sent++ % pool.length];
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(`GET /bench/abort HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer ${token}\r\n\r\n`);
        await sleep(Math.random() < 0.5 ? 0 : 1);
        socket.destroy();
      }
    }),
  );
  await sleep(1_000);
  const res = await fetch(`${gateway.url}/bench/after`, {
    headers: { authorization: `Bearer ${signer.sign(1)}` },
    signal: AbortSignal.timeout(8_000),
  }).catch((err: Error) => ({ status: err.name, text: async () => '' }));
  const body = (await res.text()).slice(0, 200);
  results.push({
    check: `a normal request after ${ABORTS} aborted ones gets through`,
    ok: res.status === 200,
    detail: `status ${res.status} ${res.status === 200 ? '' : body}`.trim(),
  });
  const started = Date.now();
  const exit = await gateway.child.stop('SIGTERM', 40_000);
  const ms = Date.now() - started;
  results.push({
    check: 'SIGTERM: clean shutdown within 5 s',
    ok: exit === 0 && ms < 5_000,
    detail: `exit ${exit} after ${ms} ms${exit === 0 ? '' : `\n${gateway.child.tail(6)}`}`,
  });
} finally {
  await gateway.stop();
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
}

for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.check}: ${r.detail}`);
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
