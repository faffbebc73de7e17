import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure } from './lib/load.ts';
import { describeMachine } from './lib/machine.ts';
import { type BenchOptions, plannedSeconds, readOptions } from './lib/options.ts';
import { gatewayRevision, writeReport } from './lib/output.ts';
import { setUpPinning } from './lib/pin.ts';
import {
  accessLogCost,
  buildRows,
  disturbance,
  fullVsFoundation,
  gatewayVsPeers,
  observabilityCost,
  textTable,
  verificationCost,
} from './lib/report.ts';
import { runRounds } from './lib/rounds.ts';
import { startAll, type TokenSource } from './lib/setup.ts';
import { createSigner, tokenPool, verificationFloorUs } from './lib/tokens.ts';
import type { Server } from './servers/server.ts';

/**
 * `npm run bench`: the direct call, the Gatehouse gateway (reused and fresh
 * tokens; and the full pipeline with Redis and the identity service), fast-gateway and nginx, measured in one run with alternating
 * rounds on the same upstream; medians, ratios, results/latest.{json,md}
 * and the generated block of docs/benchmarks.md.
 */

/** The token reused by every request, and the pool of distinct ones for the fresh-token run. */
function prepareTokens(o: BenchOptions) {
  const signer = createSigner(o.alg);
  const started = performance.now();
  const pool = o.only.includes('gateway-fresh') ? tokenPool(signer, o.tokenPool) : [];
  const reused = signer.sign(0);
  let used = 0;
  const source: TokenSource = {
    reused,
    next: () => pool[used++ % pool.length] as string,
  };
  const ms = performance.now() - started;
  // The floor of a fresh token's verification: node:crypto on the same key, measured here before the load.
  const floorUs = pool.length > 0 ? verificationFloorUs(signer, pool) : undefined;
  return { signer, source, pool, floorUs, used: () => used, ms };
}

const duration = (s: number) => (s < 90 ? `${s} s` : `${Math.round(s / 60)} min`);

async function main(): Promise<void> {
  const o = readOptions();
  const machine = describeMachine();
  const pinning = setUpPinning(o.pin, machine.cores);
  console.log(`Gatehouse bench · ${machine.cores} cores · ${machine.cpuModel} · node ${machine.node}`);
  console.log(`pinning: ${pinning.enabled ? pinning.reason : `OFF (${pinning.reason})`}`);
  console.log(
    `${o.connections} connections, pipelining ${o.pipelining}, warm-up ${o.warmupSeconds} s, ${o.rounds} rounds × ${o.seconds} s; tokens ${o.alg}; about ${duration(plannedSeconds(o))} of load, plus at most ${o.extraSeconds} s waiting for a quiet machine or redoing disturbed rounds`,
  );

  const tokens = prepareTokens(o);
  if (tokens.pool.length > 0) {
    console.log(
      `signed ${tokens.pool.length} distinct ${o.alg} tokens in ${(tokens.ms / 1000).toFixed(1)} s`,
    );
  }

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  // Logs and generated configs stay when something went wrong, to quote in a report.
  let keepLogs = true;
  let servers: Server[] = [];
  const stopAll = async () => {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    servers = [];
  };
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // The code the servers loaded: read before they start, the tree may change during the run.
    const revision = gatewayRevision();
    const setup = await startAll(o, { pinning, dir }, tokens.signer, tokens.source);
    servers = setup.servers;
    const shape = { connections: o.connections, pipelining: o.pipelining };

    if (o.warmupSeconds > 0) {
      for (const c of setup.contenders) {
        process.stdout.write(`warm-up ${c.label} … `);
        const s = await measure(c.target, o.warmupSeconds, shape);
        console.log(`${Math.round(s.rps)} req/s`);
      }
    }

    const results = await runRounds(setup.contenders, o, shape, setup.notes);

    const rows = buildRows(setup.contenders, results);
    const poolNote =
      tokens.pool.length === 0
        ? undefined
        : `fresh-token run: ${tokens.used()} requests built from a pool of ${tokens.pool.length} distinct tokens${tokens.used() > tokens.pool.length ? ` (the pool wrapped ${Math.floor(tokens.used() / tokens.pool.length)}×; a token came back only after ${tokens.pool.length} others)` : ' (no token sent twice)'}`;
    const notes = [
      ...[
        gatewayVsPeers(rows),
        fullVsFoundation(rows),
        observabilityCost(rows),
        accessLogCost(rows),
        verificationCost(rows, tokens.floorUs),
      ].filter((n) => n !== undefined),
      `gateways: LOG_LEVEL=${o.gatewayLogLevel} and the access log on (config default) in the foundation and the full-pipeline gateway alike: ${['info', 'debug', 'trace'].includes(o.gatewayLogLevel) ? 'one JSON line per request, stdout to a log file in the scratch directory' : 'the access-log record is built but the level drops it'}`,
      `pinning: ${pinning.enabled ? pinning.reason : `off (${pinning.reason})`}`,
      `tokens: ${o.alg}${o.alg === 'EdDSA' ? ' (Ed25519, static public JWK in the gateway config)' : ' (hs256Secret)'}` +
        (o.only.includes('gateway-full')
          ? '; full pipeline: EdDSA access token of a user registered with the identity service, keys from its JWKS, one token reused by every request'
          : ''),
      ...(poolNote === undefined ? [] : [poolNote]),
      disturbance(rows),
      ...setup.notes,
    ];
    console.log(`\n${textTable(rows, setup.skipped)}\n`);
    for (const n of notes) console.log(`· ${n}`);

    writeReport({ machine, options: o, pinning, rows, skipped: setup.skipped, notes, revision });
    keepLogs = setup.notes.some((n) => n.includes('died') || n.includes('failed'));
  } finally {
    await stopAll();
    if (keepLogs) console.log(`logs and configs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
