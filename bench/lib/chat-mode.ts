import { setTimeout as sleep } from 'node:timers/promises';
import { accessFrom, type Mode, type WsAuth } from './chat-access.ts';
import type { ChatBenchOptions } from './chat-options.ts';
import type { Population } from './chat-population.ts';
import { type ConnectOutcome, type ReceiverClient, type ReceiverData, Receivers } from './chat-receivers.ts';
import { sendOpenLoop } from './chat-sender.ts';
import { type ClosedLoopResult, closedLoop } from './closed-loop.ts';
import { cpuBetween, cpuByPid, machineBusyMs, selfCpuMs } from './cpu.ts';
import { LatencyHistogram } from './histogram.ts';
import { heapUsedBytes, rssBytes } from './memory.ts';
import { scrapeMetrics } from './prom.ts';

/**
 * One mode of the chat bench (direct, or through the gateway): connect every
 * client, send at the target rate, wait for the deliveries, count them
 * exactly, then read history in a closed loop. Client i connects to origin
 * i mod n, and origin k is chat instance k (direct) or the gateway in front
 * of chat instance k; message n goes through origin n mod n.
 */
export interface Measured {
  readonly name: string;
  pids(): number[];
}

export interface ServiceProcess extends Measured {
  /** Where its /metrics is (the service itself, or the gateway's admin listener). */
  readonly metricsBase: string;
}

export interface ModeSetup {
  readonly mode: Mode;
  readonly origins: readonly string[];
  readonly secret: string;
  readonly wsAuth: WsAuth;
  /** Chat instance k serves origin k. */
  readonly chats: readonly ServiceProcess[];
  /** Gateway k is origin k (gateway mode only). */
  readonly gateways: readonly ServiceProcess[];
  readonly helpers: readonly Measured[];
}

export interface MemoryRow {
  readonly name: string;
  /** Sockets this process holds for the bench's clients. */
  readonly clients: number;
  readonly rssDeltaBytes: number;
  readonly heapDeltaBytes: number;
}

export interface ModeResult {
  readonly mode: Mode;
  readonly origins: number;
  readonly clients: number;
  readonly connect: {
    readonly connected: number;
    readonly failed: number;
    readonly retried: number;
    readonly errors: Record<string, number>;
    readonly seconds: number;
  };
  readonly send: {
    readonly total: number;
    readonly accepted: number;
    readonly failed: number;
    readonly statusCodes: Record<string, number>;
    readonly errors: Record<string, number>;
    readonly targetRate: number;
    readonly achievedRate: number;
    readonly answerMs: { readonly p50: number; readonly p99: number; readonly max: number };
    readonly latenessMs: { readonly p99: number; readonly max: number };
  };
  readonly deliveries: {
    /** Accepted messages × members of the channel whose socket was open. */
    readonly expected: number;
    readonly delivered: number;
    readonly lost: number;
    readonly duplicates: number;
    readonly foreign: number;
    /** Deliveries of messages whose send was not answered 201 (timed out on the client, say). */
    readonly ofFailedSends: number;
    readonly closes: Record<string, number>;
    /** chat_ws_events_dropped_total during the run, by reason (slow_client, typing). */
    readonly droppedByChat: Record<string, number>;
    readonly drainSeconds: number;
  };
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** CPU per delivered message, µs, by process group; and the machine's busy share. */
  readonly cpu: {
    readonly perDeliveryUs: Record<string, number>;
    readonly seconds: Record<string, number>;
    readonly windowSeconds: number;
    readonly machineBusyPct: number;
  };
  readonly memory: readonly MemoryRow[];
  readonly loadGenerator: {
    readonly senderUtilization: number;
    readonly receiverUtilization: readonly number[];
    readonly workers: number;
  };
  readonly history: ClosedLoopResult;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

async function droppedByChat(chats: readonly ServiceProcess[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const chat of chats) {
    try {
      const m = await scrapeMetrics(chat.metricsBase);
      for (const s of m.series) {
        if (s.name !== 'chat_ws_events_dropped_total') continue;
        const reason = s.labels.reason ?? 'unknown';
        out[reason] = (out[reason] ?? 0) + s.value;
      }
    } catch {
      // a missing figure is not a failed run
    }
  }
  return out;
}

async function memoryOf(ps: readonly ServiceProcess[]): Promise<{ rss: number; heap: number }[]> {
  return Promise.all(
    ps.map(async (p) => ({ rss: rssBytes(p.pids()), heap: await heapUsedBytes(p.metricsBase) })),
  );
}

export async function runMode(
  o: ChatBenchOptions,
  population: Population,
  setup: ModeSetup,
  log: (line: string) => void,
): Promise<ModeResult> {
  const { users, channels, membersPerChannel: M } = population;
  const C = channels.length;
  const n = setup.origins.length;
  const access = accessFrom({
    mode: setup.mode,
    origins: setup.origins,
    secret: setup.secret,
    wsAuth: setup.wsAuth,
  });
  const total = o.rate * o.seconds;
  const perChannel = Math.ceil(total / C);
  const tag = `${setup.mode[0]}${Date.now().toString(36)}`;
  const W = o.workers;
  const clients: ReceiverClient[] = users.map((user, i) => ({ user, channel: Math.floor(i / M), origin: i }));
  const data: ReceiverData[] = Array.from({ length: W }, (_, w) => ({
    access: access.spec,
    clients: clients.filter((_, i) => i % W === w),
    tag,
    channels: C,
    perChannel,
    connectConcurrency: o.connectConcurrency,
  }));
  const globalIndex = (w: number, j: number) => w + j * W;
  const serviceProcesses = [...setup.chats, ...setup.gateways];
  const receivers = new Receivers(data);
  try {
    await sleep(1_000);
    const before = await memoryOf(serviceProcesses);
    const connectStart = performance.now();
    const outcomes: ConnectOutcome[] = await receivers.connect();
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const connected = sum(outcomes.map((x) => x.connected));
    const connectErrors: Record<string, number> = {};
    for (const x of outcomes)
      for (const [k, v] of Object.entries(x.errors)) connectErrors[k] = (connectErrors[k] ?? 0) + v;
    log(
      `  ${setup.mode}: ${connected}/${users.length} sockets ready in ${connectSeconds.toFixed(1)} s` +
        (Object.keys(connectErrors).length > 0
          ? ` (${sum(outcomes.map((x) => x.retried))} attempts retried; failed attempts: ${JSON.stringify(connectErrors)})`
          : ''),
    );
    // Which client is open, in global order; and open members per channel.
    const open = new Uint8Array(users.length);
    outcomes.forEach((x, w) => {
      x.open.forEach((v, j) => {
        open[globalIndex(w, j)] = v;
      });
    });
    await sleep(2_000);
    const after = await memoryOf(serviceProcesses);
    const held = (k: number) => clients.filter((c, i) => open[i] === 1 && c.origin % n === k).length;
    const memory: MemoryRow[] = serviceProcesses.map((p, idx) => ({
      name: p.name,
      clients: idx < setup.chats.length ? held(idx) : held(idx - setup.chats.length),
      rssDeltaBytes: (after[idx]?.rss ?? 0) - (before[idx]?.rss ?? 0),
      heapDeltaBytes: (after[idx]?.heap ?? Number.NaN) - (before[idx]?.heap ?? Number.NaN),
    }));

    const droppedBefore = await droppedByChat(setup.chats);
    const groups: Record<string, readonly Measured[]> = {
      chat: setup.chats,
      ...(setup.gateways.length > 0 ? { gateway: setup.gateways } : {}),
      ...Object.fromEntries(setup.helpers.map((h) => [h.name, [h]])),
    };
    const groupCpu = () =>
      new Map(Object.entries(groups).map(([k, ps]) => [k, cpuByPid(ps.flatMap((p) => p.pids()))]));
    const cpuBefore = groupCpu();
    const selfBefore = selfCpuMs();
    const busyBefore = machineBusyMs();
    const windowStart = performance.now();
    receivers.measure();
    const sent = await sendOpenLoop({ rate: o.rate, total, tag, channels, members: M, users }, access);
    log(
      `  ${setup.mode}: ${sent.acceptedCount}/${total} messages accepted at ${(total / sent.seconds).toFixed(0)}/s` +
        (sent.failed > 0 ? ` — ${sent.failed} FAILED: ${JSON.stringify(sent.errors)}` : ''),
    );
    const openPerChannel = Array.from({ length: C }, (_, c) =>
      sum(Array.from(open.subarray(c * M, (c + 1) * M))),
    );
    let expectedNow = 0;
    for (let m = 0; m < total; m++)
      if (sent.accepted[m] === 1) expectedNow += openPerChannel[m % C] as number;
    const drainStart = performance.now();
    while (receivers.delivered() < expectedNow && performance.now() - drainStart < o.drainSeconds * 1000) {
      await sleep(100);
    }
    await sleep(300); // the last progress report
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const cpuAfter = groupCpu();
    const selfAfter = selfCpuMs();
    const busy = machineBusyMs() - busyBefore;
    const results = await receivers.collect();
    const droppedAfter = await droppedByChat(setup.chats);

    // Exact accounting, client by client and message by message.
    let expected = 0;
    let delivered = 0;
    let ofFailedSends = 0;
    results.forEach((r, w) => {
      const local = data[w]?.clients ?? [];
      local.forEach((client, j) => {
        const i = globalIndex(w, j);
        for (let k = 0; k < perChannel; k++) {
          const m = client.channel + k * C;
          if (m >= total) break;
          const got = (((r.bits[j * r.bytesPerClient + (k >> 3)] as number) >> (k & 7)) & 1) === 1;
          if (sent.accepted[m] === 1) {
            if (open[i] === 1) expected++;
            if (got) delivered++;
          } else if (got) ofFailedSends++;
        }
      });
    });
    const latency = new LatencyHistogram();
    for (const r of results) latency.merge(r.histogram);
    const closes: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.closes)) closes[k] = (closes[k] ?? 0) + v;
    const droppedByReason: Record<string, number> = {};
    for (const [k, v] of Object.entries(droppedAfter)) {
      const d = v - (droppedBefore[k] ?? 0);
      if (d > 0) droppedByReason[k] = d;
    }
    const cpuSeconds: Record<string, number> = {};
    const perDeliveryUs: Record<string, number> = {};
    const used = new Map([...cpuAfter].map(([k, a]) => [k, cpuBetween(cpuBefore.get(k) ?? new Map(), a)]));
    used.set('load generator', selfAfter - selfBefore);
    for (const [k, ms] of used) {
      cpuSeconds[k] = ms / 1000;
      perDeliveryUs[k] = delivered === 0 ? Number.NaN : (ms * 1000) / delivered;
    }
    log(
      `  ${setup.mode}: ${delivered}/${expected} deliveries, p50 ${latency.percentile(50).toFixed(1)} ms, ` +
        `p99 ${latency.percentile(99).toFixed(1)} ms; history reads for ${o.readSeconds} s…`,
    );

    const history = await closedLoop({
      seconds: o.readSeconds,
      warmupSeconds: 2,
      concurrency: o.readConcurrency,
      next: (i) => {
        const c = i % C;
        const user = users[c * M + (Math.floor(i / C) % M)] as (typeof users)[number];
        const path = `/api/chat/conversations/${channels[c]?.id}/messages?limit=50`;
        return { origin: access.origin(i), path, headers: access.headers(user, 'GET', path) };
      },
    });

    return {
      mode: setup.mode,
      origins: n,
      clients: users.length,
      connect: {
        connected,
        failed: users.length - connected,
        retried: sum(outcomes.map((x) => x.retried)),
        errors: connectErrors,
        seconds: connectSeconds,
      },
      send: {
        total,
        accepted: sent.acceptedCount,
        failed: sent.failed,
        statusCodes: sent.statusCodes,
        errors: sent.errors,
        targetRate: o.rate,
        achievedRate: total / sent.seconds,
        answerMs: sent.answer,
        latenessMs: sent.lateness,
      },
      deliveries: {
        expected,
        delivered,
        lost: expected - delivered,
        duplicates: sum(results.map((r) => r.duplicates)),
        foreign: sum(results.map((r) => r.foreign)),
        ofFailedSends,
        closes,
        droppedByChat: droppedByReason,
        drainSeconds,
      },
      latencyMs: {
        p50: latency.percentile(50),
        p99: latency.percentile(99),
        max: Math.max(0, ...results.map((r) => r.max)),
      },
      cpu: {
        perDeliveryUs,
        seconds: cpuSeconds,
        windowSeconds,
        machineBusyPct: (busy / (windowSeconds * 1000)) * 100,
      },
      memory,
      loadGenerator: {
        senderUtilization: sent.utilization,
        receiverUtilization: results.map((r) => r.utilization),
        workers: W,
      },
      history,
    };
  } finally {
    await receivers.close();
    await sleep(2_000);
  }
}
