import { type Answer, type DriveResult, describeAnswers, drive, ms } from '../lib/drive.ts';
import { check, type LoadRun, type ScenarioOutcome } from '../lib/load-run.ts';
import { rotatingTokens } from '../lib/platform.ts';
import { scrapeMetrics } from '../lib/prom.ts';

/**
 * Rate limits: two tenants on the `free` tier (100 requests/s per user,
 * burst 100, in Redis). Tenant A's user sends 10× its limit, tenant B's
 * user half of it. A must get 429 `GW_RATE_LIMITED` answers carrying
 * `RateLimit`, `RateLimit-Policy` and `Retry-After` (docs/rate-limiting.md),
 * and no more than its limit through; B must never get a 429, and B's p99
 * must stay within 1.5× (+ 5 ms) of its p99 when alone.
 */
const LIMIT_PER_S = 100;
const WINDOW_S = 60;
const BURST = 100;
const A_RATE = 10 * LIMIT_PER_S;
const B_RATE = LIMIT_PER_S / 2;
const ALONE_S = 30;
const TOGETHER_S = 60;
const P99_FACTOR = 1.5;
const P99_SLACK_MS = 5;

const BEYOND_REACH = { limit: 1_000_000_000, windowSeconds: 60 };

interface HeaderCheck {
  refusals: number;
  refusalsWithHeaders: number;
  allowed: number;
  allowedWithHeaders: number;
  example?: Record<string, string>;
}

function headerCheck(): HeaderCheck & { onAnswer: (a: Answer) => void } {
  const h: HeaderCheck & { onAnswer: (a: Answer) => void } = {
    refusals: 0,
    refusalsWithHeaders: 0,
    allowed: 0,
    allowedWithHeaders: 0,
    onAnswer: (a) => {
      const limited = a.headers.ratelimit !== undefined && a.headers['ratelimit-policy'] !== undefined;
      if (a.status === 429) {
        h.refusals++;
        if (limited && /^\d+$/.test(a.headers['retry-after'] ?? '') && a.code === 'GW_RATE_LIMITED') {
          h.refusalsWithHeaders++;
        }
        h.example ??= {
          RateLimit: a.headers.ratelimit ?? '(missing)',
          'RateLimit-Policy': a.headers['ratelimit-policy'] ?? '(missing)',
          'Retry-After': a.headers['retry-after'] ?? '(missing)',
          code: a.code ?? '(none)',
        };
      } else if (a.status >= 200 && a.status < 300) {
        h.allowed++;
        if (limited) h.allowedWithHeaders++;
      }
    },
  };
  return h;
}

export async function rateLimits(run: LoadRun): Promise<ScenarioOutcome> {
  const p = await run.platform({
    tiers: {
      anonymous: BEYOND_REACH,
      free: { limit: LIMIT_PER_S * WINDOW_S, windowSeconds: WINDOW_S, burst: BURST },
      standard: BEYOND_REACH,
      premium: BEYOND_REACH,
    },
  });
  // Each registered user owns a tenant of its own: two users, two tenants.
  const [userA, userB] = await p.registerUsers(2, 1);
  if (userA === undefined || userB === undefined || userA.tid === userB.tid)
    throw new Error('need two tenants');
  const tokenA = rotatingTokens(p.signer, [userA]);
  const tokenB = rotatingTokens(p.signer, [userB]);
  const b = headerCheck();
  const a = headerCheck();
  const driveB = (seconds: number, onAnswer?: (x: Answer) => void) =>
    drive({
      url: p.gateway.url,
      requests: [{ path: '/bench/b', perRequest: () => ({ authorization: `Bearer ${tokenB.next()}` }) }],
      seconds,
      rate: B_RATE,
      ...(onAnswer === undefined ? {} : { onAnswer }),
    });
  const aloneS = run.seconds(ALONE_S, 4);
  const togetherS = run.seconds(TOGETHER_S, 6);

  await driveB(run.seconds(5, 1));
  const alone = await driveB(aloneS);
  run.log(`B alone at ${B_RATE} req/s: p99 ${ms(alone.latency.p99)}, ${describeAnswers(alone)}`);
  const [withA, hammer] = (await Promise.all([
    driveB(togetherS, b.onAnswer),
    drive({
      url: p.gateway.url,
      requests: [{ path: '/bench/a', perRequest: () => ({ authorization: `Bearer ${tokenA.next()}` }) }],
      seconds: togetherS,
      rate: A_RATE,
      expected: (s) => (s >= 200 && s < 300) || s === 429,
      onAnswer: a.onAnswer,
    }),
  ])) as [DriveResult, DriveResult];
  run.log(`B with A at ${A_RATE} req/s: p99 ${ms(withA.latency.p99)}, ${describeAnswers(withA)}`);
  // Decided in Redis, not by the local fallback (which would also limit, at limit / instances).
  const metrics = await scrapeMetrics(p.gateway.adminUrl as string);
  const fallbacks = metrics.sum('gateway_rate_limiter_degraded_total');
  run.log(
    `A: ${describeAnswers(hammer)}, 429 p99 ${ms(hammer.refusalLatency.p99)}; e.g. ${JSON.stringify(a.example)}`,
  );

  const aAllowed = hammer.statusCodes['200'] ?? 0;
  // GCRA: the burst at once, then one per 1/limit s.
  const aMaxAllowed = BURST + LIMIT_PER_S * hammer.wallSeconds;
  const limit = alone.latency.p99 * P99_FACTOR + P99_SLACK_MS;
  const b429 = withA.statusCodes['429'] ?? 0;
  return {
    figures: `A at ${A_RATE} req/s: ${aAllowed} allowed (≤ ${Math.round(aMaxAllowed)}), ${a.refusals} × 429 (p99 ${ms(hammer.refusalLatency.p99)}), ${a.refusalsWithHeaders} with RateLimit/RateLimit-Policy/Retry-After; B at ${B_RATE} req/s: ${b429} × 429, p99 ${ms(alone.latency.p99)} alone → ${ms(withA.latency.p99)} beside A, ${withA.failures} errors`,
    bound: `A gets 429 with RateLimit, RateLimit-Policy, Retry-After and at most its limit through; B no 429, no error, p99 ≤ ${P99_FACTOR}× alone + ${P99_SLACK_MS} ms`,
    checks: [
      check(
        'A is refused with 429 GW_RATE_LIMITED',
        a.refusals > 0 && (hammer.errorCodes.GW_RATE_LIMITED ?? 0) === a.refusals,
        `${a.refusals} × 429; ${describeAnswers(hammer)}`,
      ),
      check(
        'every 429 carries RateLimit, RateLimit-Policy and Retry-After (and GW_RATE_LIMITED)',
        a.refusals > 0 && a.refusalsWithHeaders === a.refusals,
        `${a.refusalsWithHeaders}/${a.refusals}; e.g. ${JSON.stringify(a.example)}`,
      ),
      check(
        'allowed answers carry RateLimit and RateLimit-Policy',
        a.allowedWithHeaders === a.allowed && b.allowedWithHeaders === b.allowed && b.allowed > 0,
        `A ${a.allowedWithHeaders}/${a.allowed}, B ${b.allowedWithHeaders}/${b.allowed}`,
      ),
      check(
        'A gets no more than its limit through',
        aAllowed <= aMaxAllowed * 1.02 + 2,
        `${aAllowed} allowed in ${hammer.wallSeconds.toFixed(1)} s; limit ${Math.round(aMaxAllowed)}`,
      ),
      check('A: no other errors (only 2xx and 429)', hammer.failures === 0, describeAnswers(hammer)),
      check(
        'every decision made in Redis (gateway_rate_limiter_degraded_total = 0)',
        fallbacks === 0 && metrics.value('gateway_rate_limiter_degraded') === 0,
        `${fallbacks} local fallbacks`,
      ),
      check(
        'B never gets a 429, and no error',
        b429 === 0 && withA.failures === 0 && alone.failures === 0,
        `alone: ${describeAnswers(alone)}; beside A: ${describeAnswers(withA)}`,
      ),
      check(
        `B's p99 beside A ≤ ${P99_FACTOR}× alone + ${P99_SLACK_MS} ms`,
        withA.latency.p99 <= limit,
        `${ms(withA.latency.p99)} (alone ${ms(alone.latency.p99)}, limit ${ms(limit)})`,
      ),
    ],
    setup: [
      `tier free: ${LIMIT_PER_S * WINDOW_S} per ${WINDOW_S} s per user (${LIMIT_PER_S}/s), burst ${BURST}, limiter in Redis; other tiers beyond reach; tenant A (one user) at ${A_RATE} req/s, tenant B (one user) at ${B_RATE} req/s; B alone ${aloneS} s, then both ${togetherS} s`,
    ],
    data: { alone, withA, hammer, fallbacks, headersA: a, headersB: b, aAllowed, aMaxAllowed },
  };
}
