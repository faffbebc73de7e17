import { setTimeout as sleep } from 'node:timers/promises';
import { MODES, type UpstreamMode } from '../lib/control-upstream.ts';
import { type DriveResult, describeAnswers, drive, ms, type RequestSpec } from '../lib/drive.ts';
import { check, type LoadRun, type ScenarioOutcome } from '../lib/load-run.ts';
import { rotatingTokens } from '../lib/platform.ts';
import { scrapeMetrics } from '../lib/prom.ts';

/**
 * Failing upstream: two upstreams behind one gateway, `steady` and `flaky`,
 * each under 100 req/s. Then `flaky` fails (LOAD_FAILURE: `down` — stops
 * listening, the default; `fail` — answers 500; `hang` — never answers, so
 * the gateway's 5 s timeout decides and the failure phase lasts at least 20 s):
 * its breaker must open (`gateway_circuit_breaker_state{service="flaky"}` = 1
 * on the admin /metrics) and its callers get fast 503
 * `GW_UPSTREAM_CIRCUIT_OPEN`, while `steady` keeps its p99 (≤ 1.5× its p99
 * before the failure + 5 ms) and has no error. Then `flaky` returns: its
 * breaker closes and its requests succeed again.
 */
export const RATE = 100;
const BEFORE_S = 20;
const FAILING_S = 30;
const RECOVERY_S = 30;
const AFTER_S = 10;
const USERS = 20;
const P99_FACTOR = 1.5;
const P99_SLACK_MS = 5;
const FAST_MS = 50;
/** The breaker of a `fast` upstream stays open 5 s, then lets a probe through. */
const CLOSE_WITHIN_MS = 15_000;

const breakerState = async (adminUrl: string, service: string) =>
  (await scrapeMetrics(adminUrl)).value('gateway_circuit_breaker_state', { service });

function failureMode(): UpstreamMode {
  const mode = (process.env.LOAD_FAILURE ?? 'down') as UpstreamMode;
  if (mode === 'ok' || !MODES.includes(mode)) throw new Error('LOAD_FAILURE must be down, fail or hang');
  return mode;
}

export async function failingUpstream(run: LoadRun): Promise<ScenarioOutcome> {
  const mode = failureMode();
  const p = await run.platform({ upstreams: { steady: {}, flaky: {} } });
  const users = await p.registerUsers(USERS);
  const tokens = rotatingTokens(p.signer, users);
  const flaky = p.upstreams.flaky;
  if (flaky === undefined) throw new Error('no flaky upstream');
  const admin = p.gateway.adminUrl as string;
  const to = (name: string): RequestSpec[] => [
    { path: `/${name}/item`, perRequest: () => ({ authorization: `Bearer ${tokens.next()}` }) },
  ];
  const both = (seconds: number) =>
    Promise.all([
      drive({ url: p.gateway.url, requests: to('steady'), seconds, rate: RATE }),
      drive({
        url: p.gateway.url,
        requests: to('flaky'),
        seconds,
        rate: RATE,
        timeoutSeconds: 10,
        // A hanging upstream holds each connection until the gateway's timeout (5 s): as many
        // connections as autocannon allows at this rate, so requests keep arriving meanwhile.
        ...(mode === 'hang' ? { connections: RATE } : {}),
      }),
    ]);
  /** Polls the breaker of `flaky` while `work` runs: when it was first seen in `state`. */
  const watch = async <T>(state: number, work: Promise<T>) => {
    const started = Date.now();
    let seenAfterMs: number | undefined;
    let done = false;
    const polling = (async () => {
      while (!done) {
        if (seenAfterMs === undefined && (await breakerState(admin, 'flaky')) === state)
          seenAfterMs = Date.now() - started;
        await sleep(200);
      }
    })();
    const result = await work;
    done = true;
    await polling;
    return { result, seenAfterMs };
  };
  const line = (what: string, [s, f]: DriveResult[]) =>
    run.log(
      `${what}: steady p99 ${ms(s?.latency.p99 ?? Number.NaN)} (${describeAnswers(s as DriveResult)}); flaky ${describeAnswers(f as DriveResult)}${(f?.refusals ?? 0) > 0 ? `, 503s p99 ${ms(f?.refusalLatency.p99 ?? Number.NaN)}` : ''}`,
    );

  await both(run.seconds(5, 1));
  const before = await both(run.seconds(BEFORE_S, 3));
  line('before', before);

  await flaky.setMode(mode);
  // Hanging requests fail only after the gateway's 5 s timeout, and the 10 s breaker window still
  // holds the successes from before: give the breaker time to see a failing majority.
  const failing = await watch(1, both(run.seconds(FAILING_S, mode === 'hang' ? 20 : 8)));
  line(`flaky ${mode}`, failing.result);
  const stateWhileFailing = await breakerState(admin, 'flaky');

  await flaky.setMode('ok');
  const recovering = await watch(0, both(run.seconds(RECOVERY_S, 10)));
  line('flaky back', recovering.result);
  const after = await both(run.seconds(AFTER_S, 3));
  line('after', after);
  const stateAfter = await breakerState(admin, 'flaky');

  const [steadyBefore, flakyBefore] = before as [DriveResult, DriveResult];
  const [steadyFailing, flakyFailing] = failing.result as [DriveResult, DriveResult];
  const [steadyRecovering] = recovering.result as [DriveResult, DriveResult];
  const [steadyAfter, flakyAfter] = after as [DriveResult, DriveResult];
  const limit = steadyBefore.latency.p99 * P99_FACTOR + P99_SLACK_MS;
  const open = flakyFailing.errorCodes.GW_UPSTREAM_CIRCUIT_OPEN ?? 0;
  const steadyErrors = [steadyBefore, steadyFailing, steadyRecovering, steadyAfter].reduce(
    (n, r) => n + r.failures,
    0,
  );
  return {
    figures: `flaky ${mode}: breaker open after ${failing.seenAfterMs ?? '–'} ms, ${open} fast 503 GW_UPSTREAM_CIRCUIT_OPEN (p99 ${ms(flakyFailing.refusalLatency.p99)}); steady p99 ${ms(steadyBefore.latency.p99)} before → ${ms(steadyFailing.latency.p99)} during, ${steadyErrors} errors; flaky back: breaker closed after ${recovering.seenAfterMs ?? '–'} ms, then ${flakyAfter.expected}/${flakyAfter.answered} 2xx`,
    bound: `breaker opens (state 1) with fast 503s (p99 < ${FAST_MS} ms); steady p99 ≤ ${P99_FACTOR}× before + ${P99_SLACK_MS} ms, 0 errors; breaker closes within ${CLOSE_WITHIN_MS / 1000} s of the upstream's return, then 0 errors`,
    checks: [
      check(
        'both upstreams fine before the failure',
        steadyBefore.failures === 0 && flakyBefore.failures === 0,
        `steady ${describeAnswers(steadyBefore)}; flaky ${describeAnswers(flakyBefore)}`,
      ),
      check(
        'flaky’s breaker opens (gateway_circuit_breaker_state = 1)',
        failing.seenAfterMs !== undefined,
        `seen open after ${failing.seenAfterMs ?? '–'} ms; state at the end of the failure ${stateWhileFailing}`,
      ),
      check(
        `flaky’s callers get fast 503 GW_UPSTREAM_CIRCUIT_OPEN (p99 < ${FAST_MS} ms)`,
        open > 0 && flakyFailing.refusalLatency.p99 < FAST_MS,
        `${open} of ${flakyFailing.answered} answers, 503 p99 ${ms(flakyFailing.refusalLatency.p99)}; ${describeAnswers(flakyFailing)}`,
      ),
      check(
        `steady’s p99 during the failure ≤ ${P99_FACTOR}× before + ${P99_SLACK_MS} ms`,
        steadyFailing.latency.p99 <= limit,
        `${ms(steadyFailing.latency.p99)} (before ${ms(steadyBefore.latency.p99)}, limit ${ms(limit)})`,
      ),
      check('steady: 0 errors throughout', steadyErrors === 0, `${steadyErrors}`),
      check(
        `flaky’s breaker closes within ${CLOSE_WITHIN_MS / 1000} s of its return`,
        (stateWhileFailing === 1 || stateWhileFailing === 2) &&
          recovering.seenAfterMs !== undefined &&
          recovering.seenAfterMs <= CLOSE_WITHIN_MS &&
          stateAfter === 0,
        `state when it returned ${stateWhileFailing} (1 open, 2 half-open); closed after ${recovering.seenAfterMs ?? '–'} ms; state at the end ${stateAfter}`,
      ),
      check(
        'flaky’s requests succeed afterwards',
        flakyAfter.failures === 0 && flakyAfter.answered > 0,
        describeAnswers(flakyAfter),
      ),
    ],
    setup: [
      `two upstreams (steady, flaky; timeout class fast: breaker 20 requests minimum, 50% failures, open 5 s), ${RATE} req/s to each with ${USERS} users' tokens; flaky made to fail with mode "${mode}" (LOAD_FAILURE)`,
    ],
    data: {
      mode,
      before,
      failing: failing.result,
      breakerOpenAfterMs: failing.seenAfterMs,
      recovering: recovering.result,
      breakerClosedAfterMs: recovering.seenAfterMs,
      after,
    },
  };
}
