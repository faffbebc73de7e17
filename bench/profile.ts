import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMs } from './lib/cpu.ts';
import { summarise, summaryMarkdown } from './lib/cpuprofile.ts';
import { measure, type Target } from './lib/load.ts';
import { describeMachine } from './lib/machine.ts';
import { readOptions } from './lib/options.ts';
import { setUpPinning } from './lib/pin.ts';
import { waitForQuiet } from './lib/quiet.ts';
import { PATH } from './lib/setup.ts';
import { createSigner, tokenPool } from './lib/tokens.ts';
import { startGateway } from './servers/gateway.ts';
import { startFullPipeline } from './servers/gateway-full.ts';
import { startOtlpSink } from './servers/otlp-sink.ts';
import { findRedis } from './servers/redis.ts';
import type { Server } from './servers/server.ts';
import { startUpstream } from './servers/upstream.ts';

/**
 * `npm run profile`: the gateway under `node --cpu-prof` for a short load
 * (reused token, then fresh tokens, one gateway process each; `full`: the
 * full pipeline with Redis and the identity service, reused token), and a summary
 * of where its main thread spends time. Writes results/profile.md and keeps
 * the .cpuprofile files in results/ for Chrome DevTools. The summary covers
 * the measured window only (start-up and warm-up left out).
 * BENCH_PROFILE_SECONDS (default 10), BENCH_PROFILE_MODES (default reused,fresh; also full, traced),
 * BENCH_ALG, BENCH_CONNECTIONS, BENCH_LOG_LEVEL apply.
 */
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

type Mode = 'reused' | 'fresh' | 'full' | 'traced';

const TITLES: Record<Mode, string> = {
  reused: 'Reused token',
  fresh: 'Fresh token',
  full: 'Full pipeline with Redis, reused token',
  traced: 'Reused token, metrics + tracing (10% sampled, OTLP export)',
};

async function profileOne(mode: Mode, seconds: number): Promise<string> {
  const o = readOptions();
  const pinning = setUpPinning(o.pin, describeMachine().cores);
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-profile-${mode}-`));
  const signer = createSigner(o.alg);
  const pool = mode === 'fresh' ? tokenPool(signer, Math.min(o.tokenPool, 100_000)) : [];
  let next = 0;
  const upstream = await startUpstream({ pinning, dir });
  const nodeFlags = ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=gateway-${mode}.cpuprofile`];
  const helpers: Server[] = [];
  let token = signer.sign(0);
  let gateway: Server;
  if (mode === 'full') {
    const redis = findRedis();
    if (redis === undefined)
      throw new Error('redis-server is not installed: cannot profile the full pipeline');
    const full = await startFullPipeline(
      { pinning, dir },
      upstream.url,
      signer,
      redis,
      o.gatewayLogLevel,
      helpers,
      nodeFlags,
    );
    helpers.splice(helpers.indexOf(full.gateway), 1);
    gateway = full.gateway;
    token = full.user.accessToken;
  } else {
    // traced: metrics on and 10% of traces sampled (BENCH_TRACE_RATIO), spans exported over OTLP.
    const sink = mode === 'traced' ? await startOtlpSink({ pinning, dir }) : undefined;
    if (sink !== undefined) helpers.push(sink);
    gateway = await startGateway({ pinning, dir }, upstream.url, signer, {
      name: `gateway-${mode}`,
      nodeFlags,
      logLevel: o.gatewayLogLevel,
      env:
        sink === undefined
          ? {}
          : {
              OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
              OTEL_TRACES_SAMPLER_ARG: process.env.BENCH_TRACE_RATIO ?? '0.1',
            },
    });
  }
  try {
    const target: Target =
      mode !== 'fresh'
        ? { url: `${gateway.url}${PATH}`, headers: { authorization: `Bearer ${token}` } }
        : {
            url: `${gateway.url}${PATH}`,
            perRequest: () => ({ authorization: `Bearer ${pool[next++ % pool.length]}` }),
          };
    const shape = { connections: o.connections, pipelining: o.pipelining };
    await measure(target, 2, shape);
    await waitForQuiet(o.quietPct, o.quietWaitSeconds * 1000);
    const cpu0 = cpuMs(gateway.pids());
    const fromUs = monotonicUs();
    const s = await measure(target, seconds, shape);
    const toUs = monotonicUs();
    const cpuUs = ((cpuMs(gateway.pids()) - cpu0) * 1000) / Math.max(1, s.ok);
    console.log(
      `${mode}: ${Math.round(s.rps)} req/s under the profiler, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, non-2xx ${s.non2xx}, gateway CPU ${cpuUs.toFixed(0)} µs/req`,
    );
    const stopped = Date.now();
    const exit = await gateway.child.stop('SIGTERM', 45_000);
    console.log(`${mode}: gateway stopped in ${Date.now() - stopped} ms (exit ${exit})`);
    if (exit !== 0) console.error(`!!! the gateway did not shut down cleanly:\n${gateway.child.tail(20)}`);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no .cpuprofile written in ${dir}:\n${gateway.child.tail()}`);
    mkdirSync(RESULTS, { recursive: true });
    const kept = join(RESULTS, `gateway-${mode}.cpuprofile`);
    copyFileSync(join(dir, file), kept);
    const title = `${TITLES[mode]} (${o.alg}, LOG_LEVEL=${o.gatewayLogLevel}): ${Math.round(s.rps)} req/s under the profiler, ${cpuUs.toFixed(0)} µs of gateway CPU per request`;
    return summaryMarkdown(title, summarise(kept, { fromUs, toUs }));
  } finally {
    await gateway.stop();
    await Promise.all(helpers.map((h) => h.stop()));
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 10);
const modes = (process.env.BENCH_PROFILE_MODES ?? 'reused,fresh').split(',') as Mode[];
// The default modes write profile.md; other selections their own file, so they never replace it.
const stem = modes.join(',') === 'reused,fresh' ? 'profile' : `profile-${modes.join('-')}`;
const sections: string[] = [];
for (const mode of modes) sections.push(await profileOne(mode, seconds));
const text = `# Gateway CPU profile\n\n${new Date().toISOString()} · \`npm --prefix bench run profile\` · ${seconds} s per mode\n\n${sections.join('\n\n')}\n`;
writeFileSync(join(RESULTS, `${stem}.md`), text);
console.log(`\n${text}`);
