import { setTimeout as sleep } from 'node:timers/promises';
import { type DriveResult, describeAnswers, drive, ms } from '../lib/drive.ts';
import { check, type LoadRun, type ScenarioOutcome } from '../lib/load-run.ts';
import { mixedRequests, rotatingTokens } from '../lib/platform.ts';

/**
 * Stress: the offered rate goes up in steps of 15 s until a step breaks
 * (any error, or p99 > 1 s), then two more steps past it, then a step back
 * at a low rate. The upstream takes 20 ms per request and the gateway lets
 * at most 32 requests be in flight to it (`maxConcurrent`), so its capacity
 * is about 1,600 req/s, below what the gateway's own CPU allows: past the
 * breaking point the gateway must shed the excess with fast 503s (not let
 * requests queue into timeouts), and serve normally again once the load drops.
 */
export const STEPS = [100, 200, 400, 800, 1200, 1600, 2400, 3200, 4800, 6400];
export const STEP_SECONDS = 15;
export const RECOVERY_RATE = 100;
const PAST_BREAK = 2;
const UPSTREAM_DELAY_MS = 20;
const MAX_CONCURRENT = 32;
const USERS = 50;
const CLIENT_TIMEOUT_S = 5;
/** A refusal is fast when its p99 is below this. */
const FAST_REFUSAL_MS = 250;
const RECOVERED_P99_MS = 100;

interface Step {
  readonly rate: number;
  readonly held: boolean;
  readonly result: DriveResult;
}

const broke = (r: DriveResult) => r.failures > 0 || !(r.latency.p99 <= 1_000);

function stepLine(s: Step): string {
  const r = s.result;
  return `${s.rate} req/s offered → ${Math.round(r.answeredRate)} answered/s (${Math.round(r.expectedRate)} 2xx/s), p99 ${ms(r.latency.p99)}, ${describeAnswers(r)}${r.refusals > 0 ? `, refusals p99 ${ms(r.refusalLatency.p99)}` : ''}: ${s.held ? 'held' : 'BROKE'}`;
}

export async function stress(run: LoadRun): Promise<ScenarioOutcome> {
  const stepSeconds = run.seconds(STEP_SECONDS, 2);
  const p = await run.platform({
    upstreams: { bench: { delayMs: UPSTREAM_DELAY_MS, config: { maxConcurrent: MAX_CONCURRENT } } },
  });
  const users = await p.registerUsers(USERS);
  const tokens = rotatingTokens(p.signer, users);
  const requests = mixedRequests(tokens.next);
  const step = async (rate: number): Promise<Step> => {
    const result = await drive({
      url: p.gateway.url,
      requests,
      seconds: stepSeconds,
      rate,
      timeoutSeconds: CLIENT_TIMEOUT_S,
    });
    // Let the sockets of this step close before the next one.
    await sleep(500);
    const s = { rate, held: !broke(result), result };
    run.log(stepLine(s));
    return s;
  };

  await drive({ url: p.gateway.url, requests, seconds: run.seconds(5, 1), rate: STEPS[0] as number });
  const steps: Step[] = [];
  let pastBreak = 0;
  for (const rate of STEPS) {
    const s = await step(rate);
    steps.push(s);
    if (steps.some((x) => !x.held) && ++pastBreak > PAST_BREAK) break;
  }
  const recovery = await step(RECOVERY_RATE);

  const firstBroken = steps.findIndex((s) => !s.held);
  const lastHeld = firstBroken > 0 ? steps[firstBroken - 1] : firstBroken < 0 ? steps.at(-1) : undefined;
  const broken = firstBroken >= 0 ? steps.slice(firstBroken) : [];
  const sum = (f: (r: DriveResult) => number) => broken.reduce((n, s) => n + f(s.result), 0);
  const refusals = sum((r) => r.refusals);
  const lost = sum((r) => r.timeouts + r.socketErrors);
  const otherFailures = sum((r) => r.unexpected - r.refusals);
  const failures = refusals + lost + otherFailures;
  const refusalP99 = Math.max(
    ...broken.map((s) => (s.result.refusals > 0 ? s.result.refusalLatency.p99 : 0)),
  );
  const fastShare = failures === 0 ? Number.NaN : refusals / failures;
  const breaking =
    firstBroken < 0
      ? `did not break up to ${steps.at(-1)?.rate} req/s`
      : `held ${lastHeld === undefined ? 'no step' : `${lastHeld.rate} req/s (p99 ${ms(lastHeld.result.latency.p99)})`}, broke at ${steps[firstBroken]?.rate} req/s`;
  const rec = recovery.result;
  return {
    figures: `${breaking}; past it ${refusals} fast refusals (429/503, p99 ${ms(refusalP99)}) vs ${lost} timeouts/socket errors and ${otherFailures} other errors (${(fastShare * 100).toFixed(1)}% refusals); back at ${RECOVERY_RATE} req/s: ${rec.failures} errors, p99 ${ms(rec.latency.p99)}`,
    bound: `breaking point found (error or p99 > 1 s); past it ≥ 99% of failures are 429/503 with p99 < ${FAST_REFUSAL_MS} ms; at ${RECOVERY_RATE} req/s afterwards 0 errors and p99 < ${RECOVERED_P99_MS} ms`,
    checks: [
      check('a breaking point was reached', firstBroken >= 0, breaking),
      check(
        'past it, failures are fast refusals (429/503), not timeouts or socket errors (≥ 99%)',
        failures > 0 && fastShare >= 0.99,
        `${refusals} refusals, ${lost} timeouts/socket errors, ${otherFailures} other errors`,
      ),
      check(
        `refusals are fast (p99 < ${FAST_REFUSAL_MS} ms)`,
        refusals > 0 && refusalP99 < FAST_REFUSAL_MS,
        ms(refusalP99),
      ),
      check(
        'recovers when the load drops: 0 errors',
        rec.failures === 0 && rec.answered > 0,
        describeAnswers(rec),
      ),
      check(
        `recovers: p99 < ${RECOVERED_P99_MS} ms`,
        rec.latency.p99 < RECOVERED_P99_MS,
        ms(rec.latency.p99),
      ),
    ],
    setup: [
      `upstream service time ${UPSTREAM_DELAY_MS} ms per request and maxConcurrent ${MAX_CONCURRENT} for it in the gateway (capacity ≈ ${Math.round((MAX_CONCURRENT * 1000) / UPSTREAM_DELAY_MS)} req/s); steps of ${stepSeconds} s at ${STEPS.join(', ')} req/s until ${PAST_BREAK} steps past the first broken one, then ${RECOVERY_RATE} req/s; client timeout ${CLIENT_TIMEOUT_S} s, one connection per 5 req/s; ${USERS} users, 1 public to 3 authenticated requests`,
    ],
    data: {
      stepSeconds,
      upstreamDelayMs: UPSTREAM_DELAY_MS,
      maxConcurrent: MAX_CONCURRENT,
      breakingPoint: {
        lastHeld: lastHeld?.rate ?? null,
        broke: firstBroken >= 0 ? steps[firstBroken]?.rate : null,
      },
      steps,
      recovery,
    },
  };
}
