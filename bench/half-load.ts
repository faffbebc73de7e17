import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure } from './lib/load.ts';
import { describeMachine } from './lib/machine.ts';
import { openLoop } from './lib/open-loop.ts';
import { type ContenderId, readOptions } from './lib/options.ts';
import { gatewayRevision } from './lib/output.ts';
import { setUpPinning } from './lib/pin.ts';
import { startAll } from './lib/setup.ts';
import { median } from './lib/stats.ts';
import { createSigner } from './lib/tokens.ts';
import type { Server } from './servers/server.ts';

/**
 * `npm --prefix bench run half-load`: issue 6's "p99 added by the gateway at half of its maximum
 * throughput". The full pipeline (JWT, revocation, rate limit in Redis, user lookup, identity
 * injection, metrics, access log) and the direct call are driven at the same fixed rate, half of
 * the gateway's closed-loop maximum measured first, in alternating rounds, by an even open-loop
 * load (lib/open-loop.ts: latency from the moment each request was due); the p99 added is the
 * median gateway p99 minus the median direct p99. Writes results/half-load.json.
 */
const ROUNDS = Number(process.env.HALF_LOAD_ROUNDS ?? 3);
const SECONDS = Number(process.env.HALF_LOAD_SECONDS ?? 20);

async function main(): Promise<number> {
  // gateway-full by default (issue 6's "full pipeline"); HALF_LOAD_GATEWAY=gateway-reused for the foundation alone.
  const id = process.env.HALF_LOAD_GATEWAY === 'gateway-reused' ? 'gateway-reused' : 'gateway-full';
  const o = { ...readOptions(), only: ['direct', id] as ContenderId[] };
  const machine = describeMachine();
  const pinning = setUpPinning(o.pin, machine.cores);
  const signer = createSigner(o.alg);
  const reused = signer.sign(0);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-half-load-'));
  let servers: Server[] = [];
  try {
    const setup = await startAll(o, { pinning, dir }, signer, { reused, next: () => reused });
    servers = setup.servers;
    const gateway = setup.contenders.find((c) => c.id === id);
    const direct = setup.contenders.find((c) => c.id === 'direct');
    if (gateway === undefined || direct === undefined) {
      console.error(
        `!!! the full pipeline could not start: ${setup.skipped.map((s) => s.reason).join('; ')}`,
      );
      return 1;
    }
    const shape = { connections: 50, pipelining: 1 };
    await gateway.beforeRound?.();
    await measure(gateway.target, 3, shape);
    const max = await measure(gateway.target, 10, shape);
    const rate = Math.round(max.rps / 2);
    console.log(
      `gateway maximum (closed loop, 50 connections): ${Math.round(max.rps)} req/s; driving both at ${rate} req/s`,
    );

    const p99 = { direct: [] as number[], gateway: [] as number[] };
    const p50 = { direct: [] as number[], gateway: [] as number[] };
    let failures = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, c] of [
        ['direct', direct],
        ['gateway', gateway],
      ] as const) {
        await c.beforeRound?.();
        const r = await openLoop(c.target.url, c.target.headers ?? {}, rate, SECONDS);
        failures += r.failures;
        p99[name].push(r.p99);
        p50[name].push(r.p50);
        console.log(
          `round ${round}/${ROUNDS}  ${name.padEnd(8)} ${r.ok} of ${r.sent} requests 2xx  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(1)} ms  failures ${r.failures}`,
        );
      }
    }
    const added = median(p99.gateway) - median(p99.direct);
    const pass = added < 1 && failures === 0;
    const line =
      `${pass ? 'PASS' : 'FAIL'} ${id}: p99 added at half of the maximum (${rate} of ${Math.round(max.rps)} req/s): ` +
      `${added.toFixed(2)} ms (gateway p99 ${median(p99.gateway).toFixed(2)} ms, p50 ${median(p50.gateway).toFixed(2)} ms; ` +
      `direct p99 ${median(p99.direct).toFixed(2)} ms, p50 ${median(p50.direct).toFixed(2)} ms; ${failures} failures) (bound: < 1 ms, 0 failures)`;
    console.log(`\n${line}`);
    writeFileSync(
      join(import.meta.dirname, 'results', 'half-load.json'),
      `${JSON.stringify({ when: new Date().toISOString(), revision: gatewayRevision(), machine, pinning, rounds: ROUNDS, seconds: SECONDS, maxRps: max.rps, rate, p99, p50, addedP99Ms: added, failures, pass, line }, null, 2)}\n`,
    );
    return pass ? 0 : 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
