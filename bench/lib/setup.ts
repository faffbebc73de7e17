import { startFastGateway } from '../servers/fast-gateway.ts';
import { gatewayConfig, gatewayMissing, startGateway } from '../servers/gateway.ts';
import { type FullPipeline, startFullPipeline } from '../servers/gateway-full.ts';
import { findNginx, startNginx } from '../servers/nginx.ts';
import { startOtlpSink } from '../servers/otlp-sink.ts';
import { findRedis } from '../servers/redis.ts';
import type { Server, ServerContext } from '../servers/server.ts';
import { startUpstream } from '../servers/upstream.ts';
import { BODY } from '../upstream.ts';
import type { Contender } from './contest.ts';
import type { BenchOptions, ContenderId } from './options.ts';
import type { Skipped } from './report.ts';
import type { TokenSigner } from './tokens.ts';

export const LABELS: Record<ContenderId, string> = {
  direct: 'direct (upstream, the ceiling)',
  'gateway-reused': 'gateway (reused token)',
  'gateway-fresh': 'gateway (fresh token)',
  'gateway-full': 'gateway, full pipeline + Redis',
  'gateway-nolog': 'gateway (reused token), access log off',
  'gateway-bare': 'gateway, metrics and tracing off',
  'gateway-traced': 'gateway, metrics + tracing (10%)',
  'fast-gateway': 'fast-gateway (no auth)',
  nginx: 'nginx (no auth)',
};

/** Every request goes to this path (fast-gateway's route is `/bench/*`). */
export const PATH = '/bench/hello';

export interface Setup {
  readonly servers: Server[];
  readonly contenders: Contender[];
  readonly skipped: Skipped[];
  readonly notes: string[];
  readonly gateway?: Server;
}

export interface TokenSource {
  readonly reused: string;
  next(): string;
}

const wants = (o: BenchOptions, ...ids: ContenderId[]) => ids.some((id) => o.only.includes(id));

/** Starts the upstream and every selected contender, checks each answers as it should. */
export async function startAll(
  o: BenchOptions,
  ctx: ServerContext,
  signer: TokenSigner,
  tokens: TokenSource,
): Promise<Setup> {
  const servers: Server[] = [];
  const contenders: Contender[] = [];
  const skipped: Skipped[] = [];
  const notes: string[] = [];
  const upstream = await startUpstream(ctx);
  servers.push(upstream);
  const add = (id: ContenderId, proxy: Server | undefined, target: Contender['target']) => {
    contenders.push({ id, label: LABELS[id], target, proxy, upstream });
  };

  add('direct', undefined, { url: `${upstream.url}${PATH}` });
  await expectBody('direct', `${upstream.url}${PATH}`);

  let gateway: Server | undefined;
  if (wants(o, 'gateway-reused', 'gateway-fresh')) {
    const missing = gatewayMissing();
    if (missing !== undefined) {
      for (const id of ['gateway-reused', 'gateway-fresh'] as const) {
        if (o.only.includes(id)) skipped.push({ label: LABELS[id], reason: missing });
      }
    } else {
      try {
        gateway = await startGateway(ctx, upstream.url, signer, { logLevel: o.gatewayLogLevel });
        servers.push(gateway);
        notes.push(...(await checkGateway(gateway.url, tokens.reused)));
        const url = `${gateway.url}${PATH}`;
        if (o.only.includes('gateway-reused')) {
          add('gateway-reused', gateway, { url, headers: { authorization: `Bearer ${tokens.reused}` } });
        }
        if (o.only.includes('gateway-fresh')) {
          add('gateway-fresh', gateway, {
            url,
            perRequest: () => ({ authorization: `Bearer ${tokens.next()}` }),
          });
        }
      } catch (err) {
        const reason = `gateway failed to start: ${(err as Error).message}`;
        console.error(`\n!!! ${reason}\n`);
        for (const id of ['gateway-reused', 'gateway-fresh'] as const) {
          if (o.only.includes(id))
            skipped.push({ label: LABELS[id], reason: 'gateway failed to start (see notes)' });
        }
        notes.push(reason);
      }
    }
  }

  if (wants(o, 'gateway-full')) {
    const label = LABELS['gateway-full'];
    const missing = gatewayMissing();
    const redis = findRedis();
    if (missing !== undefined || redis === undefined) {
      const reason = missing ?? 'redis-server is not installed (apt-get install -y redis-server)';
      console.error(`\n!!! ${reason}: the full-pipeline gateway is SKIPPED\n`);
      skipped.push({ label, reason });
    } else {
      try {
        const full = await startFullPipeline(ctx, upstream.url, signer, redis, o.gatewayLogLevel, servers);
        notes.push(...(await checkFullGateway(full)));
        const headers = { authorization: `Bearer ${full.user.accessToken}` };
        contenders.push({
          id: 'gateway-full',
          label,
          target: { url: `${full.gateway.url}${PATH}`, headers },
          proxy: full.gateway,
          upstream,
          helpers: full.helpers,
          // Access tokens live 10 minutes: sign in again once the one in use is 5 minutes old.
          beforeRound: async () => {
            if (Date.now() - full.user.obtainedAt < 5 * 60_000) return;
            headers.authorization = `Bearer ${await full.user.refresh()}`;
          },
        });
      } catch (err) {
        const reason = `full-pipeline gateway failed to start: ${(err as Error).message}`;
        console.error(`\n!!! ${reason}\n`);
        skipped.push({ label, reason: 'failed to start (see notes)' });
        notes.push(reason);
      }
    }
  }

  // What observability costs: the reused-token gateway with its access log off; with its metrics
  // off and no tracing; and with metrics and tracing on (10% of traces sampled, spans sent over
  // OTLP to a sink).
  for (const id of ['gateway-nolog', 'gateway-bare', 'gateway-traced'] as const) {
    if (!wants(o, id) || gatewayMissing() !== undefined) continue;
    const traced = id === 'gateway-traced';
    const accessLog = id !== 'gateway-nolog';
    const sink = traced ? await startOtlpSink(ctx) : undefined;
    if (sink !== undefined) servers.push(sink);
    const gw = await startGateway(ctx, upstream.url, signer, {
      name: id,
      logLevel: o.gatewayLogLevel,
      config: (port, adminPort) => ({
        ...gatewayConfig(port, adminPort, upstream.url, signer),
        metrics: traced || id === 'gateway-nolog',
        accessLog,
      }),
      env:
        sink === undefined
          ? {}
          : {
              OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
              OTEL_TRACES_SAMPLER_ARG: process.env.BENCH_TRACE_RATIO ?? '0.1',
            },
    });
    servers.push(gw);
    notes.push(...(await checkGateway(gw.url, tokens.reused)));
    add(id, gw, { url: `${gw.url}${PATH}`, headers: { authorization: `Bearer ${tokens.reused}` } });
  }

  if (wants(o, 'fast-gateway')) {
    const fg = await startFastGateway(ctx, upstream.url);
    servers.push(fg);
    await expectBody('fast-gateway', `${fg.url}${PATH}`);
    add('fast-gateway', fg, { url: `${fg.url}${PATH}` });
  }

  if (wants(o, 'nginx')) {
    const binary = findNginx();
    if (binary === undefined) {
      const reason = 'nginx is not installed (apt-get install -y nginx)';
      console.error(`\n!!! ${reason}: the nginx comparison is SKIPPED\n`);
      skipped.push({ label: LABELS.nginx, reason });
    } else {
      const nginx = await startNginx(ctx, binary, upstream.url);
      servers.push(nginx);
      await expectBody('nginx', `${nginx.url}${PATH}`);
      add('nginx', nginx, { url: `${nginx.url}${PATH}` });
    }
  }
  return { servers, contenders, skipped, notes, ...(gateway === undefined ? {} : { gateway }) };
}

async function expectBody(name: string, url: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200 || !body.equals(BODY)) {
    throw new Error(
      `${name}: ${url} answered ${res.status} with ${body.length} bytes, not the upstream's body`,
    );
  }
}

/** The gateway must refuse a request without a token and pass one with a valid token. */
async function checkGateway(base: string, token: string): Promise<string[]> {
  const url = `${base}${PATH}`;
  const anonymous = await fetch(url);
  await anonymous.arrayBuffer();
  if (anonymous.status !== 401) {
    throw new Error(`gateway answered ${anonymous.status} to a request without a token (expected 401)`);
  }
  const forged = await fetch(url, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
  await forged.arrayBuffer();
  if (forged.status !== 401) {
    throw new Error(`gateway answered ${forged.status} to a token with a bad signature (expected 401)`);
  }
  await expectBody('gateway', url, { authorization: `Bearer ${token}` });
  return [
    'gateway checked before the run: no token → 401, bad signature → 401, valid token → 200 with the upstream body',
  ];
}

/**
 * Before measuring the full pipeline: it refuses a request without a token, passes the identity
 * service's token, and is ready with what it depends on really in use (revocations synced and
 * subscribed on Redis, the limiter on Redis and not degraded, user lookups on).
 */
async function checkFullGateway(full: FullPipeline): Promise<string[]> {
  const url = `${full.gateway.url}${PATH}`;
  const anonymous = await fetch(url);
  await anonymous.arrayBuffer();
  if (anonymous.status !== 401) {
    throw new Error(`full gateway answered ${anonymous.status} to a request without a token (expected 401)`);
  }
  await expectBody('full gateway', url, { authorization: `Bearer ${full.user.accessToken}` });
  const ready = await fetch(`${full.gateway.url}/ready`);
  await ready.arrayBuffer();
  if (ready.status !== 200) throw new Error(`full gateway: /ready answered ${ready.status}`);
  const health = (await (await fetch(`${full.gateway.adminUrl}/health`)).json()) as {
    status?: string;
    revocations?: { synced?: boolean; redis?: string };
    rateLimiter?: { backend?: string; degraded?: boolean };
    userLookups?: { cached?: number; off?: boolean };
  };
  const problems = [
    health.revocations?.synced !== true && 'revocations not synced',
    health.revocations?.redis !== 'subscribed' && `revocation feed on Redis: ${health.revocations?.redis}`,
    health.rateLimiter?.backend !== 'redis' && `rate limiter backend: ${health.rateLimiter?.backend}`,
    health.rateLimiter?.degraded === true && 'rate limiter degraded (local fallback)',
    (health.userLookups?.off === true || (health.userLookups?.cached ?? 0) < 1) && 'user lookups not in use',
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) throw new Error(`full gateway not as expected: ${problems.join('; ')}`);
  return [
    `full pipeline checked before the run: no token → 401, the identity service's token → 200 with the upstream body, /ready → 200 (${health.status}), revocations synced and subscribed on Redis, rate limiter on Redis (not degraded), user lookups on (${health.userLookups?.cached} cached)`,
  ];
}
