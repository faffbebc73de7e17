import { loadavg } from 'node:os';
import { startRedis } from '../../scripts/backends.ts';
import { startStack } from '../../tests/web/stack.ts';
import { describeMachine } from '../lib/machine.ts';
import { gatewayRevision } from '../lib/output.ts';
import { measureFirstLoad, servedGzipBytes } from './page-load.ts';
import { type WebReport, writeWebReport } from './report.ts';
import { measureSendToScreen } from './send-to-screen.ts';
import { setUpTeam } from './team.ts';

/**
 * `npm run web [messages] [loads]` in bench/ (or `node web/first-load.ts …`):
 * the web app in the system Chromium through the real gateway — the browser
 * suites' platform (identity, chat, billing, web, gateway as real processes),
 * with Redis for chat and billing as in a deployment.
 *
 * - the chat page's JavaScript: bytes the gateway serves gzip-compressed (target ≤ 200 KB),
 *   and what Chromium transferred (brotli, which it offers);
 * - first load of the chat page for a person who signed in earlier, cold cache: navigation
 *   start → the conversation list shows (target ≤ 1 s); `loads` fresh contexts (default 10);
 * - send → the other browser's screen, `messages` of them (default 200, after 10 not counted):
 *   p50 and p99 (target p99 ≤ 100 ms).
 *
 * Writes results/web-first-load.json and .md and prints the table. Absolute figures depend on
 * the machine's load: run it alone.
 */

const WARMUP = 10;
/** Chat's send limit on the premium plan is 600 a minute per person; stay below it. */
const MAX_MESSAGES = 550;

function count(arg: string | undefined, fallback: number, min: number, max: number, name: string): number {
  const n = arg === undefined ? fallback : Number(arg);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}, not ${arg}`);
  return n;
}

// Fewer than 200 only for a quick check: p99 of fewer than 100 messages is their maximum.
const messages = count(process.argv[2], 200, 1, MAX_MESSAGES - WARMUP, 'messages');
const loads = count(process.argv[3], 10, 1, 100, 'loads');

const redis = await startRedis();
if (typeof redis === 'string') throw new Error(`the web bench needs Redis: ${redis}`);
const started = new Date();
const loadBefore = loadavg();
const revision = gatewayRevision();
const stack = await startStack({ product: true, redisUrl: redis.env.GATEHOUSE_TEST_REDIS_URL as string });
try {
  const team = await setUpTeam(stack);
  process.stdout.write(`web bench: ${loads} first loads of /chat…\n`);
  const firstLoad = await measureFirstLoad(stack, team, loads);
  const scripts = firstLoad.cold[0]?.scripts ?? [];
  if (scripts.length === 0) throw new Error('the chat page loaded no JavaScript file');
  const javascript = [];
  for (const s of scripts)
    javascript.push({
      path: s.path,
      bytes: s.decodedBodySize,
      gzipServed: await servedGzipBytes(stack, s.path),
      brotliTransferred: s.encodedBodySize,
    });
  process.stdout.write(`web bench: send → screen, ${WARMUP} + ${messages} messages…\n`);
  const sendToScreen = await measureSendToScreen(stack, team, messages, WARMUP);
  const report: WebReport = {
    date: started.toISOString(),
    command: `cd bench && npm run web -- ${messages} ${loads}`,
    revision,
    machine: describeMachine(),
    loadAverage: { atStart: loadBefore, atEnd: loadavg() },
    javascript,
    firstLoad,
    sendToScreen,
  };
  process.stdout.write(`\n${writeWebReport(report)}\n`);
} finally {
  await stack.stop();
  redis.stop();
}
