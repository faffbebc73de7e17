import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { spawnChild, waitForHttp } from './lib/child.ts';
import { cpuMs } from './lib/cpu.ts';
import { setUpPinning } from './lib/pin.ts';
import { freePort } from './lib/ports.ts';
import { median } from './lib/stats.ts';
import { createSigner } from './lib/tokens.ts';
import { gatewayConfig, projectNode, startGateway } from './servers/gateway.ts';
import { findNginx } from './servers/nginx.ts';
import { startNginxWs } from './servers/nginx-ws.ts';
import type { Server, ServerContext } from './servers/server.ts';

/**
 * WebSockets through the gateway, side by side with the direct connection
 * and nginx, against one `ws` echo upstream, in one run (`npm run websocket`
 * in bench/):
 *
 * 1. idle connections held open: each proxy's resident memory per connection
 *    (BENCH_WS_IDLE, default 9,000: two sockets per tunnel must fit the
 *    process's file descriptor limit; raise `ulimit -n` for 10,000);
 * 2. echo round trips at BENCH_WS_RATE messages/s (default 2,000) spread over
 *    BENCH_WS_ECHO_CONNECTIONS (default 1,000) of those connections: p50/p99,
 *    and what each proxy adds to the direct p99;
 * 3. handshakes per second and per CPU second of the proxy (one process, one
 *    core each), with one token reused, BENCH_WS_ROUNDS alternating rounds of
 *    BENCH_WS_HANDSHAKE_S seconds at BENCH_WS_CONCURRENCY handshakes in flight.
 */

const IDLE = Number(process.env.BENCH_WS_IDLE ?? 9_000);
const ECHO_CONNECTIONS = Math.min(IDLE, Number(process.env.BENCH_WS_ECHO_CONNECTIONS ?? 1_000));
const RATE = Number(process.env.BENCH_WS_RATE ?? 2_000);
const ECHO_S = Number(process.env.BENCH_WS_ECHO_S ?? 10);
const ROUNDS = Number(process.env.BENCH_WS_ROUNDS ?? 3);
const HANDSHAKE_S = Number(process.env.BENCH_WS_HANDSHAKE_S ?? 5);
const CONCURRENCY = Number(process.env.BENCH_WS_CONCURRENCY ?? 32);

interface Target {
  readonly name: string;
  readonly url: string;
  /** Processes whose memory and CPU are the proxy's (none for the direct connection). */
  readonly pids: () => number[];
  readonly headers: Record<string, string>;
}

function rssBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    total += Number(match?.[1] ?? 0) * 1024;
  }
  return total;
}

function open(target: Target): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${target.url.replace('http', 'ws')}/ws`, {
      headers: target.headers,
      perMessageDeflate: false,
    });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`${target.name}: ${res.statusCode}`)));
  });
}

async function openMany(target: Target, count: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(Array.from({ length: Math.min(batch, count - i) }, () => open(target)));
    sockets.push(...opened);
  }
  return sockets;
}

async function closeAll(sockets: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.readyState === WebSocket.CLOSED) return resolve();
          s.once('close', () => resolve());
          s.terminate();
        }),
    ),
  );
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Messages at `RATE`/s spread evenly over the connections; round trips in ms. */
async function echoRun(sockets: readonly WebSocket[]): Promise<{ p50: number; p99: number; count: number }> {
  const rtts: number[] = [];
  for (const s of sockets) {
    s.on('message', (data) => {
      rtts.push(performance.now() - Number(String(data)));
    });
  }
  const intervalMs = 1_000 / RATE;
  const end = performance.now() + ECHO_S * 1_000;
  let next = performance.now();
  let i = 0;
  while (performance.now() < end) {
    // Open loop: send what is due, whatever came back, then sleep to the next tick.
    while (next <= performance.now()) {
      (sockets[i++ % sockets.length] as WebSocket).send(String(performance.now()));
      next += intervalMs;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const s of sockets) s.removeAllListeners('message');
  const sorted = rtts.sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), count: sorted.length };
}

/** Open-and-close handshakes for HANDSHAKE_S seconds; per second, and per CPU second of the proxy. */
async function handshakeRun(target: Target): Promise<{ perSecond: number; perCpuSecond: number }> {
  const pids = target.pids();
  const cpuBefore = cpuMs(pids);
  const started = performance.now();
  const end = started + HANDSHAKE_S * 1_000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const socket = await open(target);
        done++;
        await closeAll([socket]);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  const cpuSeconds = (cpuMs(pids) - cpuBefore) / 1_000;
  return { perSecond: done / seconds, perCpuSecond: pids.length === 0 ? Number.NaN : done / cpuSeconds };
}

async function main(): Promise<void> {
  const pinning = setUpPinning(process.env.BENCH_PIN !== '0', availableParallelism());
  const ctx: ServerContext = { pinning, dir: mkdtempSync(join(tmpdir(), 'gatehouse-bench-ws-')) };
  const upstreamPort = await freePort();
  const upstream = spawnChild({
    name: 'ws-echo',
    command: projectNode(),
    args: [join(import.meta.dirname, 'servers/ws-echo.ts'), String(upstreamPort)],
    logFile: join(ctx.dir, 'ws-echo.log'),
  });
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  await waitForHttp(`${upstreamUrl}/bench/ready`, upstream);
  const signer = createSigner('EdDSA');
  const token = signer.sign(1);
  const servers: Server[] = [];
  try {
    const gateway = await startGateway(ctx, upstreamUrl, signer, {
      name: 'gateway-ws',
      logLevel: 'warn',
      config: (port, adminPort) => ({
        ...gatewayConfig(port, adminPort, upstreamUrl, signer),
        accessLog: false,
        routes: [{ prefix: '/', upstream: 'bench', websocket: { idleTimeoutSeconds: 3_600 } }],
        websockets: {
          maxConnections: 100_000,
          maxPerUser: 10_000,
          maxPerTenant: { free: 100_000, standard: 100_000, premium: 100_000 },
        },
      }),
    });
    servers.push(gateway);
    const nginxBinary = findNginx();
    const nginx = nginxBinary === undefined ? undefined : await startNginxWs(ctx, nginxBinary, upstreamUrl);
    if (nginx !== undefined) servers.push(nginx);
    const targets: Target[] = [
      { name: 'direct', url: upstreamUrl, pids: () => [], headers: {} },
      {
        name: 'gateway',
        url: gateway.url,
        pids: () => gateway.pids(),
        headers: { authorization: `Bearer ${token}` },
      },
      ...(nginx === undefined
        ? []
        : [{ name: 'nginx', url: nginx.url, pids: () => nginx.pids(), headers: {} }]),
    ];
    process.stdout.write(
      `websocket bench: ${IDLE} idle, echo ${RATE} msg/s over ${ECHO_CONNECTIONS} connections for ${ECHO_S} s, ` +
        `handshakes ${ROUNDS}×${HANDSHAKE_S} s at ${CONCURRENCY} in flight; ${pinning.reason}` +
        `${nginx === undefined ? '; nginx not installed (apt-get install nginx-light)' : ''}\n`,
    );

    const results = new Map<
      string,
      { memPerConn?: number; p50: number; p99: number; hs: number[]; hsCpu: number[] }
    >();
    for (const target of targets) {
      const before = rssBytes(target.pids());
      const sockets = await openMany(target, IDLE);
      await new Promise((r) => setTimeout(r, 2_000));
      const after = rssBytes(target.pids());
      const echo = await echoRun(sockets.slice(0, ECHO_CONNECTIONS));
      await closeAll(sockets);
      results.set(target.name, {
        ...(target.pids().length > 0 ? { memPerConn: (after - before) / IDLE } : {}),
        p50: echo.p50,
        p99: echo.p99,
        hs: [],
        hsCpu: [],
      });
      process.stdout.write(
        `  ${target.name}: ${target.pids().length > 0 ? `${((after - before) / IDLE / 1024).toFixed(1)} KiB/connection, ` : ''}` +
          `echo p50 ${echo.p50.toFixed(2)} ms p99 ${echo.p99.toFixed(2)} ms (${echo.count} round trips)\n`,
      );
      await new Promise((r) => setTimeout(r, 1_000));
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        const hs = await handshakeRun(target);
        const entry = results.get(target.name);
        entry?.hs.push(hs.perSecond);
        entry?.hsCpu.push(hs.perCpuSecond);
      }
    }
    const direct = results.get('direct');
    const ngx = results.get('nginx');
    process.stdout.write(
      '\n| | memory / connection | echo p50 | echo p99 | p99 added | handshakes/s | per CPU-second of the proxy |\n',
    );
    process.stdout.write('| --- | --- | --- | --- | --- | --- | --- |\n');
    for (const [name, r] of results) {
      const hsCpu = median(r.hsCpu);
      process.stdout.write(
        `| ${name} | ${r.memPerConn === undefined ? '—' : `${(r.memPerConn / 1024).toFixed(1)} KiB`} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${
          name === 'direct' ? '—' : `${(r.p99 - (direct?.p99 ?? 0)).toFixed(2)} ms`
        } | ${median(r.hs).toFixed(0)} | ${Number.isNaN(hsCpu) ? '—' : hsCpu.toFixed(0)} |\n`,
      );
    }
    const gw = results.get('gateway');
    if (gw !== undefined && ngx !== undefined) {
      process.stdout.write(
        `\ngateway / nginx handshakes per CPU-second: ${(median(gw.hsCpu) / median(ngx.hsCpu)).toFixed(2)}; ` +
          `handshakes/s gateway / direct: ${(median(gw.hs) / median(direct?.hs ?? [])).toFixed(2)}\n`,
      );
    }
  } finally {
    for (const server of servers) await server.stop();
    await upstream.stop('SIGTERM');
  }
}

await main();
