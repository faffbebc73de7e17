import { describeAnswers, drive, ms } from '../lib/drive.ts';
import { check, type LoadRun, type ScenarioOutcome } from '../lib/load-run.ts';
import { mixedRequests, rotatingTokens } from '../lib/platform.ts';

/**
 * Baseline: 100 req/s at a fixed rate for 5 minutes, one public request to
 * three authenticated ones (50 users, each with its own token), through the
 * full platform. p95 < 200 ms, p99 < 500 ms, no error (every answer 2xx,
 * no socket error, no timeout), and the rate really offered.
 */
export const RATE = 100;
export const SECONDS = 300;
const USERS = 50;

export async function baseline(run: LoadRun): Promise<ScenarioOutcome> {
  const seconds = run.seconds(SECONDS, 5);
  const p = await run.platform({});
  const users = await p.registerUsers(USERS);
  const tokens = rotatingTokens(p.signer, users);
  const requests = mixedRequests(tokens.next);
  const warm = run.seconds(10, 2);
  await drive({ url: p.gateway.url, requests, seconds: warm, rate: RATE });
  run.log(`warm-up ${warm} s at ${RATE} req/s done; measuring ${seconds} s`);
  const r = await drive({ url: p.gateway.url, requests, seconds, rate: RATE });
  const l = r.latency;
  return {
    figures: `${r.answeredRate.toFixed(1)} req/s for ${seconds} s, p50 ${ms(l.p50)}, p95 ${ms(l.p95)}, p99 ${ms(l.p99)}, max ${ms(l.max)}, ${r.failures} errors of ${r.answered + r.socketErrors + r.timeouts}`,
    bound: `${RATE} req/s: p95 < 200 ms, p99 < 500 ms, 0 errors`,
    checks: [
      check('p95 < 200 ms', l.p95 < 200, ms(l.p95)),
      check('p99 < 500 ms', l.p99 < 500, ms(l.p99)),
      check(
        'no errors (non-2xx, socket errors, timeouts)',
        r.failures === 0 && r.answered > 0,
        describeAnswers(r),
      ),
      check(
        `the rate was offered (≥ 95% of ${RATE} req/s answered)`,
        r.answeredRate >= 0.95 * RATE,
        `${r.answeredRate.toFixed(1)} req/s`,
      ),
    ],
    setup: [
      `${USERS} users registered with the identity service, each with its own token (bench key in auth.keys beside the JWKS); 1 public request (/pub) to 3 authenticated ones (/bench); ${r.connections} connections, ${warm} s warm-up`,
    ],
    data: { rate: RATE, seconds, users: USERS, result: r },
  };
}
