import { setTimeout as sleep } from 'node:timers/promises';
import { ms } from '../lib/drive.ts';
import { LatencyHistogram } from '../lib/histogram.ts';
import { check, type LoadRun, type ScenarioOutcome } from '../lib/load-run.ts';
import { rotatingTokens } from '../lib/platform.ts';
import type { Server } from '../servers/server.ts';

/**
 * Graceful shutdown under load: two gateway instances (same Redis, identity
 * service and upstream) behind a client that balances like a load balancer
 * would (as tests/gateway/resilience.test.ts does): round robin over the
 * instances whose /ready answered 200 at the last poll (every 100 ms). Under
 * a steady 200 req/s, gateway 1 gets SIGTERM: /ready turns 503, it keeps
 * accepting for `shutdownDrainDelayMs` (2 s) while the balancer moves every
 * request to gateway 2, finishes what is in flight and exits. No request
 * may fail, and gateway 1 must exit with code 0.
 */
export const RATE = 200;
const WORKERS = 20;
const BEFORE_S = 15;
const AFTER_S = 15;
const DRAIN_DELAY_MS = 2_000;
const POLL_MS = 100;
const USERS = 20;

interface Instance {
  readonly server: Server;
  ready: boolean;
  served: number;
  /** Requests sent after SIGTERM. */
  servedAfterSigterm: number;
}

export async function shutdown(run: LoadRun): Promise<ScenarioOutcome> {
  const p = await run.platform({ gateways: 2, limits: { shutdownDrainDelayMs: DRAIN_DELAY_MS } });
  const users = await p.registerUsers(USERS);
  const tokens = rotatingTokens(p.signer, users);
  const instances: Instance[] = p.gateways.map((server) => ({
    server,
    ready: true,
    served: 0,
    servedAfterSigterm: 0,
  }));
  const [first] = instances as [Instance, Instance];
  const failures: string[] = [];
  const latency = new LatencyHistogram();
  let sigtermAt: number | undefined;
  let running = true;
  let turn = 0;

  const poller = (async () => {
    while (running) {
      await Promise.all(
        instances.map(async (i) => {
          i.ready = await fetch(`${i.server.url}/ready`, { signal: AbortSignal.timeout(1_000) }).then(
            async (r) => {
              await r.arrayBuffer();
              return r.status === 200;
            },
            () => false,
          );
        }),
      );
      await sleep(POLL_MS);
    }
  })();

  const worker = async () => {
    const interval = (1000 * WORKERS) / RATE;
    let due = performance.now();
    while (running) {
      const ready = instances.filter((i) => i.ready);
      const target = ready[turn++ % Math.max(1, ready.length)];
      if (target === undefined) {
        failures.push('no gateway ready');
      } else {
        const t = performance.now();
        try {
          const res = await fetch(`${target.server.url}/bench/work`, {
            headers: { authorization: `Bearer ${tokens.next()}` },
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          if (res.status === 200) {
            latency.record(performance.now() - t);
            target.served++;
            if (sigtermAt !== undefined) target.servedAfterSigterm++;
          } else {
            failures.push(`${target.server.name}: ${res.status}`);
          }
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause?.code;
          failures.push(
            `${target.server.name}: ${(err as Error).message}${cause === undefined ? '' : ` (${cause})`}`,
          );
        }
      }
      due += interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
  };

  const workers = Array.from({ length: WORKERS }, async (_, i) => {
    await sleep((i * 1000) / RATE);
    await worker();
  });
  await sleep(run.seconds(BEFORE_S, 3) * 1000);
  const servedBefore = instances.map((i) => i.served);
  sigtermAt = Date.now();
  run.log(`SIGTERM to ${first.server.name}; served so far: ${servedBefore.join(' and ')}`);
  const exit = first.server.child
    .stop('SIGTERM', 40_000)
    .then((code) => ({ code, ms: Date.now() - (sigtermAt as number) }));
  const afterS = Math.max(run.seconds(AFTER_S, 3), DRAIN_DELAY_MS / 1000 + 3);
  await sleep(afterS * 1000);
  running = false;
  await Promise.all([...workers, poller]);
  const exited = await exit;
  const total = instances.reduce((n, i) => n + i.served, 0) + failures.length;
  const [, second] = instances as [Instance, Instance];
  run.log(
    `${first.server.name} exited ${exited.code} after ${exited.ms} ms; served ${first.served} (${first.servedAfterSigterm} after SIGTERM), ${second.server.name} ${second.served}`,
  );
  if (exited.code !== 0) run.log(first.server.child.tail(15));
  return {
    figures: `${total} requests at ${RATE} req/s, ${failures.length} failed, p99 ${ms(latency.percentile(99))}; ${first.server.name} got SIGTERM, served ${first.servedAfterSigterm} more during its drain and exited ${exited.code} after ${exited.ms} ms; ${second.server.name} took the rest (${second.served})`,
    bound: 'zero failed requests; the stopped gateway exits 0',
    checks: [
      check(
        'zero failed requests',
        failures.length === 0 && total > 0,
        failures.length === 0
          ? `${total} requests`
          : `${failures.length}: ${[...new Set(failures)].slice(0, 5).join('; ')}`,
      ),
      check('the stopped gateway exits 0', exited.code === 0, `exit ${exited.code} after ${exited.ms} ms`),
      check(
        'both gateways served before SIGTERM',
        servedBefore.every((n) => n > 0),
        instances.map((i, n) => `${i.server.name} ${servedBefore[n]}`).join(', '),
      ),
      check(
        'the other gateway took the traffic afterwards',
        second.servedAfterSigterm > 0,
        `${second.servedAfterSigterm} requests after SIGTERM`,
      ),
    ],
    setup: [
      `two gateway instances (same Redis, identity service and upstream), shutdownDrainDelayMs ${DRAIN_DELAY_MS}; the client balances round robin over the instances whose /ready answered 200 (polled every ${POLL_MS} ms), ${WORKERS} workers at ${RATE} req/s in all, keep-alive (fetch); ${USERS} users' tokens`,
    ],
    data: {
      rate: RATE,
      total,
      failures,
      exit: exited,
      instances: instances.map((i) => ({
        name: i.server.name,
        served: i.served,
        servedAfterSigterm: i.servedAfterSigterm,
      })),
      p50: latency.percentile(50),
      p99: latency.percentile(99),
    },
  };
}
