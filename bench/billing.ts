import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { buildApp } from '../packages/billing/src/app.ts';
import { loadConfig } from '../packages/billing/src/config.ts';
import { localProvider } from '../packages/billing/src/providers/local.ts';
import type { PaymentStatus } from '../packages/billing/src/providers/provider.ts';
import { verifyStripeSignature } from '../packages/billing/src/providers/webhook-signature.ts';
import { ManualClock } from '../packages/billing/test/manual-clock.ts';
import { openPostgres } from '../packages/kit/src/db/index.ts';
import { createLogger } from '../packages/kit/src/logger.ts';
import { type Backend, startPostgres, startRedis } from '../scripts/backends.ts';

/**
 * The billing benchmark (`node bench/billing.ts [--changes 200]`):
 *
 * 1. Propagation: the time from a subscription change (billing has answered)
 *    to the new limit being enforced on every gateway instance: two real
 *    gateway processes sharing Redis, each polled until its RateLimit-Policy
 *    shows the new tier's quota. p50/p99 over N changes (an upgrade, then a
 *    cancellation applied at period end, alternating). The same without Redis
 *    (tiers read from billing, 1 s cache) for comparison.
 * 2. Webhooks: events verified and stored per second (each settles a payment:
 *    verify, store once, ask the provider, settle the invoice, update the
 *    subscription, write the entitlement record and the audit entry), beside
 *    the signature check alone and a duplicate delivery, on PGlite and Postgres.
 */

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const CHANGES = option('changes', 200);
const HTTP_CHANGES = option('http-changes', 40);
const EVENTS = option('events', 1000);

const root = join(import.meta.dirname, '..');
const assertionSecret = randomBytes(32).toString('base64url');
const jwtSecret = randomBytes(32).toString('base64url');
const quiet = createLogger({ service: 'billing', level: 'warn' });
const backends: Backend[] = [];
const children: ChildProcess[] = [];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function startGateway(upstream: string, rateLimits: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-billing-'));
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `listen: { port: 0 }
admin: { port: 0 }
auth: { issuer: https://auth.bench, audience: gatehouse, hs256Secret: { env: JWT_SECRET } }
assertion: { keys: [ { kid: gw1, secret: { env: GATEWAY_ASSERTION_SECRET } } ] }
accessLog: false
upstreams: { billing: { url: ${upstream} } }
routes: [ { prefix: /api/billing, upstream: billing } ]
${rateLimits}
`,
  );
  const child = spawn(
    process.execPath,
    [join(root, 'packages/gateway/src/main.ts'), 'serve', '--config', config],
    {
      env: {
        PATH: process.env.PATH ?? '',
        JWT_SECRET: jwtSecret,
        GATEWAY_ASSERTION_SECRET: assertionSecret,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  child.stdout?.on('data', (c) => {
    out += c;
  });
  child.stderr?.on('data', (c) => {
    out += c;
  });
  const until = Date.now() + 60_000;
  for (;;) {
    const match = /"url":"(http:\/\/[^"]+)","adminUrl"/.exec(out);
    if (match !== null) return match[1] as string;
    if (Date.now() > until) throw new Error(`gateway did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function token(tenant: string): Promise<string> {
  return new SignJWT({ tid: tenant, roles: ['owner'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setIssuer('https://auth.bench')
    .setAudience('gatehouse')
    .setSubject(randomUUID())
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(jwtSecret));
}

const LIMITS = `  tiers:
    free: { limit: 100000, windowSeconds: 60 }
    premium: { limit: 400000, windowSeconds: 60 }`;

/** Polls every gateway until it enforces `quota`; the time when the last one does, from `since`. */
async function enforcedOnAll(gateways: string[], path: string, auth: string, quota: number, since: number) {
  const arrivals = await Promise.all(
    gateways.map(async (gw) => {
      for (;;) {
        const res = await fetch(`${gw}${path}`, { headers: { authorization: `Bearer ${auth}` } });
        const text = await res.text();
        const q = Number(/;q=(\d+)/.exec(res.headers.get('ratelimit-policy') ?? '')?.[1]);
        if (q === quota) return performance.now();
        if (performance.now() - since > 10_000)
          throw new Error(`${gw}: still q=${q}, expected ${quota} (${res.status} ${text.slice(0, 200)})`);
        await new Promise((r) => setTimeout(r, 1));
      }
    }),
  );
  return Math.max(...arrivals) - since;
}

async function propagation(mode: 'redis' | 'http', redisUrl: string | undefined, changes: number) {
  const clock = new ManualClock(Date.now());
  const config = loadConfig({
    GATEWAY_ASSERTION_SECRET: assertionSecret,
    BILLING_DB_MEMORY: 'true',
    BILLING_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-bench-billing-')),
    ...(mode === 'redis' ? { REDIS_URL: redisUrl } : {}),
  });
  const billing = await buildApp(config, { clock, scheduler: false, logger: quiet });
  const billingUrl = await billing.app.listen({ host: '127.0.0.1', port: 0 });
  const rateLimits =
    mode === 'redis'
      ? `rateLimits:\n  redisUrl: ${redisUrl}\n  tierCacheSeconds: 300\n${LIMITS}`
      : `rateLimits:\n  entitlementsUrl: ${billingUrl}\n  tierCacheSeconds: 1\n${LIMITS}`;
  const gateways = await Promise.all([
    startGateway(billingUrl, rateLimits),
    startGateway(billingUrl, rateLimits),
  ]);
  const samples: number[] = [];
  try {
    while (samples.length < changes) {
      const tenant = randomUUID();
      const auth = await token(tenant);
      const path = `/api/billing/tenants/${tenant}/subscription`;
      await enforcedOnAll(gateways, path, auth, 100000, performance.now());
      const actor = { id: 'user:bench', requestId: null };
      await billing.billing.subscribe(actor, tenant, 'premium');
      let since = performance.now();
      samples.push(await enforcedOnAll(gateways, path, auth, 400000, since));
      if (samples.length >= changes) break;
      const sub = await billing.billing.cancel(actor, tenant);
      clock.set(sub.subscription?.periodEnd ?? clock.now());
      await billing.billing.tick();
      since = performance.now();
      samples.push(await enforcedOnAll(gateways, path, auth, 100000, since));
    }
  } finally {
    await billing.close();
  }
  return {
    mode,
    changes: samples.length,
    p50Ms: Math.round(percentile(samples, 50) * 10) / 10,
    p99Ms: Math.round(percentile(samples, 99) * 10) / 10,
    maxMs: Math.round(Math.max(...samples) * 10) / 10,
  };
}

async function webhooks(backend: 'PGlite' | 'Postgres', postgresUrl: string | undefined) {
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  const outcomes = new Map<string, PaymentStatus>();
  const provider = localProvider({
    webhookSecrets: [secret],
    outcome: (r) => outcomes.get(r.tenantId) ?? 'failed',
  });
  const database =
    backend === 'Postgres'
      ? await openPostgres({ url: postgresUrl as string, schema: `bench_${randomBytes(4).toString('hex')}` })
      : undefined;
  const config = loadConfig({
    GATEWAY_ASSERTION_SECRET: assertionSecret,
    BILLING_DB_MEMORY: 'true',
    BILLING_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-bench-billing-')),
  });
  const billing = await buildApp(config, {
    scheduler: false,
    logger: quiet,
    provider,
    ...(database === undefined ? {} : { database }),
  });
  try {
    // Incomplete subscriptions (first payment declined); the provider then settles each and says so.
    const deliveries: { body: Buffer; signature: string }[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const tenant = randomUUID();
      const result = await billing.billing.subscribe(
        { id: 'user:bench', requestId: null },
        tenant,
        'standard',
      );
      const paymentId = result.invoice?.paymentId as string;
      provider.settle(paymentId, 'succeeded');
      const d = provider.webhook('payment_intent.succeeded', paymentId, Date.now());
      deliveries.push({ body: Buffer.from(d.body), signature: d.signature });
    }
    const rate = async (fn: (d: { body: Buffer; signature: string }) => Promise<unknown> | unknown) => {
      const started = performance.now();
      for (const d of deliveries) await fn(d);
      return Math.round((deliveries.length / (performance.now() - started)) * 1000);
    };
    const verifyOnly = await rate((d) => verifyStripeSignature(d.body, d.signature, [secret], Date.now()));
    const handled = await rate((d) => billing.billing.handleWebhook(d.body, d.signature));
    const duplicate = await rate((d) => billing.billing.handleWebhook(d.body, d.signature));
    return {
      backend,
      events: deliveries.length,
      verifyOnlyPerSecond: verifyOnly,
      verifiedAndStoredPerSecond: handled,
      duplicatePerSecond: duplicate,
      ratioToVerifyOnly: Math.round((handled / verifyOnly) * 1000) / 1000,
    };
  } finally {
    await billing.close();
    if (database !== undefined) await database.close();
  }
}

try {
  const redis = await startRedis();
  const postgres = await startPostgres();
  for (const b of [redis, postgres]) if (typeof b !== 'string') backends.push(b);
  const redisUrl = typeof redis === 'string' ? undefined : redis.env.GATEHOUSE_TEST_REDIS_URL;
  const postgresUrl = typeof postgres === 'string' ? undefined : postgres.env.GATEHOUSE_TEST_POSTGRES_URL;
  const results: Record<string, unknown> = { changes: CHANGES, events: EVENTS, at: new Date().toISOString() };
  if (redisUrl === undefined) console.log(`propagation with Redis: SKIPPED (${redis as string})`);
  else results.propagationRedis = await propagation('redis', redisUrl, CHANGES);
  results.propagationHttp = await propagation('http', undefined, HTTP_CHANGES);
  results.webhooksPglite = await webhooks('PGlite', undefined);
  if (postgresUrl === undefined) console.log(`webhooks on Postgres: SKIPPED (${postgres as string})`);
  else results.webhooksPostgres = await webhooks('Postgres', postgresUrl);
  console.log(JSON.stringify(results, null, 2));
  writeFileSync(
    join(import.meta.dirname, 'results', 'billing.json'),
    `${JSON.stringify(results, null, 2)}\n`,
  );
} finally {
  for (const child of children) child.kill('SIGKILL');
  for (const b of backends) b.stop();
}
process.exit(0);
