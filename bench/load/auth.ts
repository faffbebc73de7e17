import { describeAnswers, drive, ms } from '../lib/drive.ts';
import { LatencyHistogram } from '../lib/histogram.ts';
import { check, type LoadRun, type ScenarioOutcome } from '../lib/load-run.ts';
import { claimsOf } from '../lib/platform.ts';
import { scrapeMetrics } from '../lib/prom.ts';
import { type BenchUser, registerUser } from '../servers/identity.ts';

/**
 * Auth: 200 distinct users register and then sign in through the gateway
 * (POST /api/auth/register and /login, routed to the identity service), 8 at
 * a time; then every user calls a protected route 20 times with its own
 * access token (the one sign-in gave), mixed with the others'. Reports the
 * sign-up and sign-in rates and latencies, and the gateway's user-lookup
 * cache hit ratio from its admin /metrics (`gateway_user_lookups_total`):
 * one lookup per user is a miss, the rest should be hits.
 */
export const USERS = 200;
export const CALLS_PER_USER = 20;
const CONCURRENCY = 8;
const PROTECTED_RATE = 400;
const MIN_HIT_RATIO = 0.9;
const SIGN_IN_P99_MS = 1_000;

interface Timed {
  readonly ok: number;
  readonly failed: string[];
  readonly seconds: number;
  readonly latency: { p50: number; p95: number; p99: number };
}

/** Runs `task(i)` for i < count, `concurrency` at a time; times each. */
async function timed(count: number, task: (i: number) => Promise<void>): Promise<Timed> {
  const h = new LatencyHistogram();
  const failed: string[] = [];
  let next = 0;
  let ok = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        try {
          await task(i);
          ok++;
          h.record(performance.now() - t);
        } catch (err) {
          failed.push((err as Error).message);
        }
      }
    }),
  );
  return {
    ok,
    failed,
    seconds: (performance.now() - started) / 1000,
    latency: { p50: h.percentile(50), p95: h.percentile(95), p99: h.percentile(99) },
  };
}

const rate = (t: Timed) => `${(t.ok / t.seconds).toFixed(1)}/s`;
const lat = (t: Timed) => `p50 ${ms(t.latency.p50)}, p99 ${ms(t.latency.p99)}`;

export async function auth(run: LoadRun): Promise<ScenarioOutcome> {
  const p = await run.platform({});
  // registerUser and refresh post to <url>/api/auth/register and /login: given the gateway's
  // URL, they go through the gateway's public /api/auth routes to the identity service.
  const users: BenchUser[] = [];
  const registered = await timed(USERS, async (i) => {
    users[i] = await registerUser(p.gateway.url);
  });
  run.log(
    `sign-up: ${registered.ok}/${USERS} in ${registered.seconds.toFixed(1)} s (${rate(registered)}), ${lat(registered)}`,
  );
  const tokens: string[] = [];
  const signedIn = await timed(users.length, async (i) => {
    const user = users[i];
    if (user === undefined) throw new Error(`user ${i} did not register`);
    tokens[i] = await user.refresh();
  });
  run.log(
    `sign-in: ${signedIn.ok}/${USERS} in ${signedIn.seconds.toFixed(1)} s (${rate(signedIn)}), ${lat(signedIn)}`,
  );
  const own = tokens.filter((t) => t !== undefined);
  const distinct = new Set(own.map((t) => String(claimsOf(t).sub))).size;

  const before = await scrapeMetrics(p.gateway.adminUrl as string);
  let next = 0;
  const calls = own.length * CALLS_PER_USER;
  const r = await drive({
    url: p.gateway.url,
    requests: [
      { path: '/bench/me', perRequest: () => ({ authorization: `Bearer ${own[next++ % own.length]}` }) },
    ],
    seconds: Math.max(2, calls / PROTECTED_RATE),
    rate: PROTECTED_RATE,
  });
  const after = await scrapeMetrics(p.gateway.adminUrl as string);
  const lookups: Record<string, number> = {};
  for (const result of ['hit', 'miss', 'coalesced', 'stale', 'unavailable']) {
    lookups[result] =
      after.sum('gateway_user_lookups_total', { result }) -
      before.sum('gateway_user_lookups_total', { result });
  }
  const total = Object.values(lookups).reduce((a, b) => a + b, 0);
  const hitRatio = total === 0 ? Number.NaN : (lookups.hit ?? 0) / total;
  const perUser = r.answered / Math.max(1, own.length);
  run.log(
    `protected calls: ${describeAnswers(r)}, p99 ${ms(r.latency.p99)}; user lookups ${JSON.stringify(lookups)}`,
  );
  return {
    figures: `${registered.ok} sign-ups at ${rate(registered)} (${lat(registered)}), ${signedIn.ok} sign-ins at ${rate(signedIn)} (${lat(signedIn)}); ${r.answered} protected calls (${perUser.toFixed(1)} per user, ${distinct} distinct users) p99 ${ms(r.latency.p99)}, ${r.failures} errors; user-lookup hit ratio ${(hitRatio * 100).toFixed(1)}% (${lookups.hit} hit, ${lookups.miss} miss, ${lookups.coalesced} coalesced)`,
    bound: `all ${USERS} sign-ups and sign-ins succeed, sign-in p99 < ${SIGN_IN_P99_MS} ms; protected calls 0 errors; user-lookup hit ratio ≥ ${MIN_HIT_RATIO * 100}%`,
    checks: [
      check(
        `${USERS} users registered through the gateway`,
        registered.ok === USERS,
        registered.failed.slice(0, 3).join('; ') || `${registered.ok}`,
      ),
      check(
        `${USERS} users signed in through the gateway`,
        signedIn.ok === USERS,
        signedIn.failed.slice(0, 3).join('; ') || `${signedIn.ok}`,
      ),
      check(
        'each sign-in gave a token of a distinct user',
        distinct === USERS,
        `${distinct} distinct subjects`,
      ),
      check(
        `sign-in p99 < ${SIGN_IN_P99_MS} ms`,
        signedIn.latency.p99 < SIGN_IN_P99_MS,
        ms(signedIn.latency.p99),
      ),
      check(
        'protected calls with the users’ own tokens: 0 errors',
        r.failures === 0 && r.answered > 0,
        describeAnswers(r),
      ),
      check(
        `user-lookup cache hit ratio ≥ ${MIN_HIT_RATIO * 100}%`,
        hitRatio >= MIN_HIT_RATIO,
        `${(hitRatio * 100).toFixed(1)}% of ${total} lookups (${JSON.stringify(lookups)})`,
      ),
    ],
    setup: [
      `identity service with the bench's argon2 settings (1 MiB, 1 pass: the production settings cost ~50–100 ms of CPU per sign-in, so production sign-in rates are far lower); ${CONCURRENCY} sign-ups/sign-ins in flight; protected calls at ${PROTECTED_RATE} req/s, users in turn, ${CALLS_PER_USER} each; user lookups cached 5 min (default)`,
    ],
    data: { users: USERS, registered, signedIn, protectedCalls: r, lookups, hitRatio },
  };
}
