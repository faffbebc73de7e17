import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMs } from './lib/cpu.ts';
import { measure } from './lib/load.ts';
import { describeMachine } from './lib/machine.ts';
import { readOptions } from './lib/options.ts';
import { gatewayRevision } from './lib/output.ts';
import { median } from './lib/stats.ts';
import { createSigner } from './lib/tokens.ts';
import { startGateway } from './servers/gateway.ts';
import type { Server } from './servers/server.ts';
import { startUpstream } from './servers/upstream.ts';

/**
 * `npm --prefix bench run scaling`: issue 6's "N workers on N cores scale to 0.8·N of one
 * worker". The reused-token gateway with `--workers 1` and `--workers 2`, nothing pinned (the
 * workers need both cores), alternating rounds, closed loop. On a 2-core machine the load
 * generator and the upstream share the cores with the workers, so throughput alone understates
 * scaling; the CPU per request says what each worker would do on a core of its own:
 * efficiency = (CPU per request, 1 worker) / (CPU per request, 2 workers). Writes
 * results/scaling.json.
 */
const ROUNDS = Number(process.env.SCALING_ROUNDS ?? 3);
const SECONDS = Number(process.env.SCALING_SECONDS ?? 10);

async function main(): Promise<number> {
  const o = readOptions();
  const machine = describeMachine();
  const ctx = {
    pinning: { enabled: false, reason: 'scaling: the workers float over every core' },
    dir: mkdtempSync(join(tmpdir(), 'gatehouse-scaling-')),
  };
  const signer = createSigner(o.alg);
  const token = signer.sign(0);
  const servers: Server[] = [];
  try {
    const upstream = await startUpstream(ctx);
    servers.push(upstream);
    const gateways: [number, Server][] = [];
    for (const workers of [1, 2]) {
      const gw = await startGateway(ctx, upstream.url, signer, {
        name: `gateway-${workers}w`,
        logLevel: o.gatewayLogLevel,
        env: { GATEWAY_WORKERS: String(workers) },
      });
      servers.push(gw);
      gateways.push([workers, gw]);
    }
    const shape = { connections: o.connections, pipelining: 1 };
    const results = new Map<number, { rps: number[]; cpuUs: number[] }>();
    for (const [workers, gw] of gateways) {
      results.set(workers, { rps: [], cpuUs: [] });
      await measure(
        { url: `${gw.url}/bench/hello`, headers: { authorization: `Bearer ${token}` } },
        3,
        shape,
      );
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [workers, gw] of gateways) {
        const pids = gw.pids();
        const before = cpuMs(pids);
        const s = await measure(
          { url: `${gw.url}/bench/hello`, headers: { authorization: `Bearer ${token}` } },
          SECONDS,
          shape,
        );
        const cpuUs = ((cpuMs(pids) - before) * 1000) / (s.rps * s.seconds);
        const r = results.get(workers) as { rps: number[]; cpuUs: number[] };
        r.rps.push(s.rps);
        r.cpuUs.push(cpuUs);
        console.log(
          `round ${round}/${ROUNDS}  ${workers} worker(s)  ${Math.round(s.rps)} req/s  p99 ${s.p99.toFixed(2)} ms  gateway CPU ${cpuUs.toFixed(0)} µs/req (${pids.length} processes)`,
        );
      }
    }
    const one = results.get(1) as { rps: number[]; cpuUs: number[] };
    const two = results.get(2) as { rps: number[]; cpuUs: number[] };
    const throughput = median(two.rps) / median(one.rps);
    const efficiency = median(one.cpuUs) / median(two.cpuUs);
    const pass = efficiency >= 0.8;
    const line =
      `${pass ? 'PASS' : 'FAIL'} worker scaling: 2 workers do ${throughput.toFixed(2)}× the throughput of 1 on this shared 2-core machine ` +
      `(${Math.round(median(two.rps))} vs ${Math.round(median(one.rps))} req/s, the load generator and upstream on the same cores); ` +
      `CPU per request ${median(two.cpuUs).toFixed(0)} vs ${median(one.cpuUs).toFixed(0)} µs: per-core efficiency ${efficiency.toFixed(2)}, ` +
      `so N workers on N free cores would do about ${efficiency.toFixed(2)}·N (bound: ≥ 0.8·N)`;
    console.log(`\n${line}`);
    writeFileSync(
      join(import.meta.dirname, 'results', 'scaling.json'),
      `${JSON.stringify({ when: new Date().toISOString(), revision: gatewayRevision(), machine, rounds: ROUNDS, seconds: SECONDS, one, two, throughput, efficiency, pass, line }, null, 2)}\n`,
    );
    return pass ? 0 : 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    rmSync(ctx.dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
