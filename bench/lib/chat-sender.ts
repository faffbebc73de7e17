import { performance } from 'node:perf_hooks';
import type { Access, BenchChatUser } from './chat-access.ts';
import type { Channel } from './chat-population.ts';
import { monotonicMs } from './clock.ts';
import { LatencyHistogram } from './histogram.ts';
import { httpCall, keepAliveAgent } from './http-call.ts';
import { pace } from './open-loop.ts';

/**
 * The chat bench's sender: an open loop (messages go out when they are due,
 * whatever the answers do) of `POST /api/chat/conversations/:id/messages`
 * through the access's origins in turn. Message n goes to channel n mod C from
 * its members in turn, with the body `bench:<tag>:<n>:<due>`, `due` being the
 * moment it was due on the machine's monotonic clock: a receiver's latency
 * runs from then, so a late sender is not hidden (no coordinated omission).
 */
export interface SendPlan {
  readonly rate: number;
  readonly total: number;
  readonly tag: string;
  readonly channels: readonly Channel[];
  readonly members: number;
  readonly users: readonly BenchChatUser[];
}

export interface SendOutcome {
  /** 1 for each message the service accepted (201). */
  readonly accepted: Uint8Array;
  readonly acceptedCount: number;
  readonly failed: number;
  readonly statusCodes: Record<string, number>;
  readonly errors: Record<string, number>;
  /** From when each send was due to its answer (ms). */
  readonly answer: { readonly p50: number; readonly p99: number; readonly max: number };
  /** How late the sender put each message on the wire (ms): large values mean the load generator lagged. */
  readonly lateness: { readonly p99: number; readonly max: number };
  /** From the first send to the last one (the offered rate is total / seconds). */
  readonly seconds: number;
  /** The sender thread's event-loop utilisation while sending (0–1). */
  readonly utilization: number;
}

export async function sendOpenLoop(plan: SendPlan, access: Access): Promise<SendOutcome> {
  const agent = keepAliveAgent(512);
  const accepted = new Uint8Array(plan.total);
  const answers = new LatencyHistogram();
  const lateness = new LatencyHistogram();
  const statusCodes: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const C = plan.channels.length;
  const pending = new Set<Promise<void>>();
  let answerMax = 0;
  let acceptedCount = 0;
  let failed = 0;
  const loopAtStart = performance.eventLoopUtilization();
  // performance.now() and the monotonic clock tick together; only their origins differ.
  const offset = monotonicMs() - performance.now();
  const started = performance.now();

  const sendOne = (n: number, due: number) => {
    const now = performance.now();
    lateness.record(now - due);
    const c = n % C;
    const user = plan.users[c * plan.members + (Math.floor(n / C) % plan.members)] as BenchChatUser;
    const path = `/api/chat/conversations/${(plan.channels[c] as Channel).id}/messages`;
    const body = JSON.stringify({ body: `bench:${plan.tag}:${n}:${(due + offset).toFixed(3)}` });
    const done = httpCall(
      agent,
      access.origin(n),
      'POST',
      path,
      access.headers(user, 'POST', path),
      body,
    ).then(
      (answer) => {
        const ms = performance.now() - due;
        answers.record(ms);
        if (ms > answerMax) answerMax = ms;
        statusCodes[answer.status] = (statusCodes[answer.status] ?? 0) + 1;
        if (answer.status === 201) {
          accepted[n] = 1;
          acceptedCount++;
        } else {
          failed++;
          const code = /"code"\s*:\s*"([A-Z_]+)"/.exec(answer.text)?.[1] ?? `status ${answer.status}`;
          errors[code] = (errors[code] ?? 0) + 1;
        }
      },
      (err: Error) => {
        failed++;
        const reason = err.message.slice(0, 120);
        errors[reason] = (errors[reason] ?? 0) + 1;
      },
    );
    pending.add(done);
    done.finally(() => pending.delete(done));
  };

  await pace(plan.rate, plan.total, sendOne, started);
  const seconds = (performance.now() - started) / 1000;
  const utilization = performance.eventLoopUtilization(loopAtStart).utilization;
  await Promise.all([...pending]);
  agent.destroy();
  return {
    accepted,
    acceptedCount,
    failed,
    statusCodes,
    errors,
    answer: { p50: answers.percentile(50), p99: answers.percentile(99), max: answerMax },
    lateness: { p99: lateness.percentile(99), max: lateness.percentile(100) },
    seconds,
    utilization,
  };
}
