import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MESSAGES_PER_MINUTE } from '../packages/kit/src/contracts/entitlement.ts';
import type { Mode } from './lib/chat-access.ts';
import { type Measured, type ModeResult, runMode, type ServiceProcess } from './lib/chat-mode.ts';
import { chatCommandLine, readChatOptions, usage } from './lib/chat-options.ts';
import { BENCH_ENTITLEMENT, populate } from './lib/chat-population.ts';
import { type ChatReport, renderMarkdown, runNotes, summary } from './lib/chat-report.ts';
import { httpCall, keepAliveAgent } from './lib/http-call.ts';
import { describeMachine } from './lib/machine.ts';
import { MailLog } from './lib/mail-log.ts';
import { openFileLimit } from './lib/memory.ts';
import { gatewayRevision } from './lib/output.ts';
import { startChat } from './servers/chat.ts';
import { CHAT_GATEWAY_CHANGES, startChatGateway } from './servers/gateway-chat.ts';
import { startIdentity } from './servers/identity.ts';
import { startPostgres } from './servers/postgres.ts';
import { findRedis, startRedis } from './servers/redis.ts';
import type { Server, ServerContext } from './servers/server.ts';

/**
 * `npm --prefix bench run chat`: the chat service's real-time fan-out, as
 * issue 13 asks, in one run: direct (clients on the two chat instances, the
 * bench signing the gateway's assertion) and through the gateway (clients
 * with the identity service's access tokens), side by side. Redis, Postgres,
 * the identity service, two chat instances sharing both, and a gateway in
 * front of each chat instance. Per mode: send→deliver latency on every
 * member's socket (p50, p99, max), deliveries counted exactly (lost,
 * duplicates), CPU per delivered message per process group, memory per
 * connected client per process, history reads/s (limit=50). Writes
 * results/chat.json and results/chat.md. `-- --help` lists the knobs.
 */
const RESULTS = join(import.meta.dirname, 'results');

interface Stoppable {
  readonly name: string;
  stop(): Promise<unknown>;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  const o = readChatOptions();
  if (o === 'help') {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const setupNotes: string[] = [];
  const redisBinary = findRedis();
  if (redisBinary === undefined)
    throw new Error('redis-server is not installed (apt-get install -y redis-server)');

  // Per-user send rate: chat refuses more than its tier's messages per user a minute.
  const perUserPerMinute = (o.rate * 60) / o.clients;
  if (perUserPerMinute > MESSAGES_PER_MINUTE.premium) {
    throw new Error(
      `${o.rate} messages/s over ${o.clients} users is ${perUserPerMinute.toFixed(0)} per user a minute: above chat's premium limit (${MESSAGES_PER_MINUTE.premium}); add clients or lower the rate`,
    );
  }
  // File descriptors: this process holds every client socket, a gateway two per tunnel.
  const fdLimit = openFileLimit();
  const fdNeeded = 2 * Math.ceil(o.clients / 2) + 1_000;
  if (o.clients + 1_000 > fdLimit || fdNeeded > fdLimit) {
    throw new Error(
      `open-file limit ${fdLimit} is too low for ${o.clients} clients (this process needs about ${o.clients + 1_000}, a gateway ${fdNeeded}): raise it (ulimit -n) first`,
    );
  }

  const ctx: ServerContext = {
    pinning: { enabled: false, reason: 'not pinned' },
    dir: mkdtempSync(join(tmpdir(), 'gatehouse-bench-chat-')),
  };
  const started: Stoppable[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    started.length = 0;
  };
  process.once('SIGINT', () => {
    log('\ninterrupted: stopping every process the bench started…');
    stopAll().finally(() => process.exit(130));
  });

  let ok = false;
  try {
    const secret = randomBytes(32).toString('base64url');
    const redis = await startRedis(ctx, redisBinary);
    started.push(redis);
    const postgres = await startPostgres();
    let databaseUrl: string | undefined;
    if (typeof postgres === 'string') {
      const why = `Postgres unavailable (${postgres}): ONE chat instance on PGlite. PGlite cannot be shared by two processes, so the issue's two-instance shape is NOT measured`;
      log(`\n!!! ${why}\n`);
      setupNotes.push(`**${why}.**`);
    } else {
      started.push(postgres);
      databaseUrl = postgres.url;
      setupNotes.push(
        'Postgres (throwaway server, fsync off, as the test suites run it) shared by the chat instances',
      );
    }
    const identity = await startIdentity(ctx, redis.url, secret, {
      // The development outbox (invitation tokens) is logged at info.
      logLevel: 'info',
      env: { AUTH_ACCESS_TTL_SECONDS: '900' },
    });
    started.push(identity);
    const chats: Server[] = [];
    // One at a time: the first runs the migrations.
    for (const name of databaseUrl === undefined ? ['chat-a'] : ['chat-a', 'chat-b']) {
      const chat = await startChat(ctx, {
        name,
        redisUrl: redis.url,
        databaseUrl,
        assertionSecret: secret,
        logLevel: o.logLevel,
      });
      started.push(chat);
      chats.push(chat);
    }
    const gateways: Server[] = [];
    if (o.modes.includes('gateway')) {
      for (const [i, chat] of chats.entries()) {
        const gateway = await startChatGateway(
          ctx,
          `gateway-${i + 1}`,
          { chat: chat.url, identity: identity.url, redis: redis.url },
          chats.length,
          secret,
          o.logLevel,
        );
        started.push(gateway);
        gateways.push(gateway);
      }
    }
    setupNotes.push(
      `Redis (pub/sub fan-out between the chat instances, send counters, entitlement records, the gateway's limiter and revocation feed); the identity service; ${chats.length} chat instance${chats.length === 1 ? '' : 's'} (NODE_ENV=production)` +
        (gateways.length > 0
          ? `; ${gateways.length} gateway process${gateways.length === 1 ? '' : 'es'} (one in front of each chat instance: an upstream has one address and the gateway does not balance between instances; together they stand for gateway replicas behind a load balancer)`
          : ''),
      `${o.channels} tenants with one public channel of ${o.members} members each; users registered, invited, accepted and switched through the identity service's API, channels created and joined through chat's API`,
      `each tenant on billing's entitlement record (written to Redis as billing writes it): ${JSON.stringify(BENCH_ENTITLEMENT(o.members))} — premium allows ${MESSAGES_PER_MINUTE.premium} messages per user a minute; the bench sends ${perUserPerMinute.toFixed(1)} per user a minute, so chat's limit never refuses a send`,
      ...(gateways.length > 0
        ? [
            ...CHAT_GATEWAY_CHANGES.map(
              (c) => `gateway config: routes and websockets from config/gateway.yaml; ${c}`,
            ),
            `sockets through the gateway authenticate with ${o.wsAuth === 'header' ? 'the access token in Authorization on the upgrade' : 'a single-use ticket from POST /api/ws-ticket'}; tokens are refreshed right before the gateway mode (they live 15 minutes)`,
          ]
        : []),
      `direct mode: the bench signs the gateway's assertion for each request and upgrade (the users' real ids, tenants and roles), as the gateway would`,
      `client i connects to origin i mod ${chats.length} and message n goes through origin n mod ${chats.length}: half the deliveries cross instances through Redis`,
      `load generator: this process; the sender (open loop, HTTP keep-alive) on the main thread, the sockets on ${o.workers} worker thread${o.workers === 1 ? '' : 's'}; latency from when each message was due to its arrival, on the machine's monotonic clock`,
      `processes not pinned to cores: ${chats.length + gateways.length + 3} server processes and the load generator share ${describeMachine().cores} cores`,
      `open-file limit ${fdLimit} (ulimit -n)`,
    );

    log(
      `chat bench: ${o.clients} clients in ${o.channels} channels of ${o.members}, ${o.rate} msg/s for ${o.seconds} s; modes ${o.modes.join(', ')}; logs in ${ctx.dir}`,
    );
    const population = await populate({
      identityUrl: identity.url,
      chatUrl: (chats[0] as Server).url,
      assertionSecret: secret,
      redisUrl: redis.url,
      mail: new MailLog(identity.child.logFile),
      channels: o.channels,
      members: o.members,
      concurrency: o.setupConcurrency,
      log,
    });
    if (gateways.length > 0) await checkGateways(gateways, population.users[0]?.accessToken ?? '');

    const helpers: Measured[] = [
      redis,
      ...(typeof postgres === 'string' ? [] : [postgres]),
      { name: 'identity', pids: () => identity.pids() },
    ];
    const chatProcesses: ServiceProcess[] = chats.map((c) => ({
      name: c.name,
      pids: () => c.pids(),
      metricsBase: c.url,
    }));
    const modes: ModeResult[] = [];
    for (const mode of o.modes as Mode[]) {
      log(`mode ${mode}:`);
      if (mode === 'gateway') await population.refreshAll(o.setupConcurrency);
      modes.push(
        await runMode(
          o,
          population,
          {
            mode,
            origins: (mode === 'direct' ? chats : gateways).map((s) => s.url),
            secret,
            wsAuth: o.wsAuth,
            chats: chatProcesses,
            gateways:
              mode === 'gateway'
                ? gateways.map((g) => ({
                    name: g.name,
                    pids: () => g.pids(),
                    metricsBase: g.adminUrl as string,
                  }))
                : [],
            helpers,
          },
          log,
        ),
      );
    }
    const report: ChatReport = {
      date: new Date().toISOString(),
      command: chatCommandLine(),
      revision: gatewayRevision(),
      machine: describeMachine(),
      options: o,
      setup: setupNotes,
      notes: runNotes(modes),
      modes,
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'chat.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'chat.md'), renderMarkdown(report));
    process.stdout.write(
      `\n${summary(report)}\n\n${report.notes.map((n) => `- ${n}`).join('\n')}\n\nwritten: bench/results/chat.json, bench/results/chat.md\n`,
    );
    ok = true;
  } finally {
    await stopAll();
    // The logs are kept when the run failed (their path was printed at the start).
    if (ok) rmSync(ctx.dir, { recursive: true, force: true });
  }
}

/** Before measuring: each gateway refuses a request without a token and passes the identity service's token to chat. */
async function checkGateways(gateways: readonly Server[], token: string): Promise<void> {
  const agent = keepAliveAgent(4);
  for (const g of gateways) {
    const anonymous = await httpCall(agent, g.url, 'GET', '/api/chat/conversations', {});
    const signedIn = await httpCall(agent, g.url, 'GET', '/api/chat/conversations', {
      authorization: `Bearer ${token}`,
    });
    if (anonymous.status !== 401 || signedIn.status !== 200) {
      throw new Error(
        `${g.name}: GET /api/chat/conversations answered ${anonymous.status} without a token (expected 401) and ${signedIn.status} with one (expected 200): ${signedIn.text.slice(0, 200)}`,
      );
    }
  }
  agent.destroy();
}

await main();
