import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { type GcraOutcome, gcraDecision, gcraParams } from './gcra.ts';
import { MemoryRateLimiter } from './memory.ts';
import type { RateLimitDecision, RateLimiter, RateLimiterStatus, RateLimitPolicy } from './types.ts';

/**
 * GCRA in Redis, one script per check: read the TAT, decide, write it back with
 * an expiry, atomically (Redis runs one script at a time), on Redis's own clock
 * (`TIME`), so every gateway instance shares one exact count whatever their
 * clocks say. Times in whole µs, as in gcra.ts. Returns {allowed, tat, now}; the
 * decision fields are computed in TypeScript by the same code as the memory
 * limiter's. The key expires when its TAT passes (≤ the tolerance τ): an
 * expired key and an absent one mean the same.
 */
export const GCRA_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now <= tolerance then
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
  return {1, tat, now}
end
return {0, tat, now}
`;
const GCRA_SHA = createHash('sha1').update(GCRA_SCRIPT).digest('hex');

export type DegradedReason = 'disconnected' | 'timeout' | 'error';

export interface RedisRateLimiterOptions {
  /** `redis://…` / `rediss://…`; the limiter owns this connection and closes it. */
  readonly url?: string;
  /**
   * Or a client made elsewhere (not closed by `close`). It should be made with
   * `redisClientOptions()` so a dead Redis fails fast instead of queueing.
   */
  readonly client?: Redis;
  /** Time one check may wait for Redis before the local fallback decides. Default 50 ms. */
  readonly budgetMs?: number;
  /** Gateway instances sharing the limit: the fallback allows limit / instances (≥ 1). Default 1. */
  readonly instances?: number;
  /** Key prefix in Redis. Default `gatehouse:rl:`. */
  readonly keyPrefix?: string;
  /** Key cap of the local fallback. Default 100 000. */
  readonly maxLocalKeys?: number;
  /** Called for every check the fallback decided (count it: `gateway_rate_limiter_degraded_total{reason}`). */
  readonly onDegraded?: (reason: DegradedReason) => void;
}

/**
 * ioredis options for a fail-fast connection: commands are refused at once
 * while disconnected (no offline queue, no per-command retries), and the client
 * keeps reconnecting in the background (backoff up to 2 s) so it recovers by
 * itself when Redis returns.
 */
export function redisClientOptions() {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Checks issued in the same tick (concurrent requests) go out in one write.
    enableAutoPipelining: true,
    connectTimeout: 2_000,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  } as const;
}

function code(message: string): Error {
  return Object.assign(new Error(message), { code: 'RATELIMIT_INVALID_OPTION' });
}

const BUDGET_EXCEEDED = Symbol('budget exceeded');

/**
 * The shared limiter (Kong's `fault_tolerant`, but never unlimited): every
 * check is one EVALSHA within a time budget. When Redis errs, is disconnected
 * or does not answer within the budget, a local MemoryRateLimiter decides at
 * limit / instances and the decision says `degraded: true`; `check` never
 * throws for a Redis failure. While degraded, at most one check at a time
 * probes Redis (the rest decide locally at once), so a slow Redis costs one
 * budget, not one per request; the first probe that succeeds ends the degraded
 * state.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #owned: boolean;
  readonly #budgetMs: number;
  readonly #instances: number;
  readonly #prefix: string;
  readonly #fallback: MemoryRateLimiter;
  readonly #onDegraded: ((reason: DegradedReason) => void) | undefined;
  #degraded = false;
  #probing = false;
  #reason: DegradedReason = 'error';
  #lastError: string | null = null;
  #closed = false;

  constructor(options: RedisRateLimiterOptions) {
    const budgetMs = options.budgetMs ?? 50;
    const instances = options.instances ?? 1;
    if (!Number.isFinite(budgetMs) || budgetMs < 1) throw code('budgetMs must be ≥ 1');
    if (!Number.isSafeInteger(instances) || instances < 1) throw code('instances must be an integer ≥ 1');
    if (options.client !== undefined) {
      this.#redis = options.client;
      this.#owned = false;
    } else if (options.url !== undefined) {
      this.#redis = new Redis(options.url, redisClientOptions());
      this.#owned = true;
    } else {
      throw code('RedisRateLimiter needs a url or a client');
    }
    // Without a listener ioredis reports connection errors on the console; they are
    // expected while Redis is down (the degraded state says so), so keep the last one.
    this.#redis.on('error', (err: Error) => {
      this.#lastError = err.message;
    });
    this.#budgetMs = budgetMs;
    this.#instances = instances;
    this.#prefix = options.keyPrefix ?? 'gatehouse:rl:';
    this.#fallback = new MemoryRateLimiter({ maxKeys: options.maxLocalKeys ?? 100_000 });
    this.#onDegraded = options.onDegraded;
  }

  /** The connection, e.g. for the TierResolver's entitlement lookups. */
  get client(): Redis {
    return this.#redis;
  }

  /** Resolves once connected (or after `timeoutMs`); checks before that decide locally. */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.#redis.status !== 'ready' && Date.now() < until && !this.#closed) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.#redis.status === 'ready';
  }

  async check(key: string, policy: RateLimitPolicy, now?: number): Promise<RateLimitDecision> {
    const params = gcraParams(policy);
    if (this.#redis.status !== 'ready') return this.#local(key, policy, now, 'disconnected', null);
    if (this.#degraded) {
      if (this.#probing) return this.#local(key, policy, now, this.#reason, null);
      this.#probing = true;
    }
    const probe = this.#degraded;
    try {
      const reply = await this.#withinBudget(this.#run(`${this.#prefix}${policy.name}:${key}`, params));
      if (reply === BUDGET_EXCEEDED) {
        return this.#local(key, policy, now, 'timeout', `no answer within ${this.#budgetMs} ms`);
      }
      const [allowed, tatUs, nowUs] = reply;
      this.#degraded = false;
      const outcome: GcraOutcome = { allowed: allowed === 1, tatUs, newTatUs: tatUs + params.intervalUs };
      return gcraDecision(outcome, nowUs, params, policy, false);
    } catch (err) {
      return this.#local(key, policy, now, 'error', err instanceof Error ? err.message : String(err));
    } finally {
      if (probe) this.#probing = false;
    }
  }

  async #run(redisKey: string, params: { intervalUs: number; toleranceUs: number }) {
    const args = [redisKey, params.intervalUs, params.toleranceUs] as const;
    let reply: unknown;
    try {
      reply = await this.#redis.evalsha(GCRA_SHA, 1, ...args);
    } catch (err) {
      // First use on this Redis (or after a restart/SCRIPT FLUSH): EVAL sends and caches the script.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      reply = await this.#redis.eval(GCRA_SCRIPT, 1, ...args);
    }
    if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((n) => typeof n === 'number')) {
      throw new Error(`unexpected script reply: ${JSON.stringify(reply)}`);
    }
    return reply as [number, number, number];
  }

  #withinBudget<T>(work: Promise<T>): Promise<T | typeof BUDGET_EXCEEDED> {
    // A late answer or error after the budget is dropped (the catch keeps it from being unhandled).
    work.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<typeof BUDGET_EXCEEDED>((resolve) => {
      // Timers run before the event loop reads sockets: when a burst keeps the loop busy past the
      // budget, the reply may already be waiting. setImmediate lets that read happen first, so only
      // a Redis that really has not answered loses the race (and the request is not counted twice).
      timer = setTimeout(() => setImmediate(resolve, BUDGET_EXCEEDED), this.#budgetMs);
    });
    return Promise.race([work, budget]).finally(() => clearTimeout(timer));
  }

  #local(
    key: string,
    policy: RateLimitPolicy,
    now: number | undefined,
    reason: DegradedReason,
    error: string | null,
  ): RateLimitDecision {
    this.#degraded = true;
    this.#reason = reason;
    if (error !== null) this.#lastError = error;
    try {
      this.#onDegraded?.(reason);
    } catch {
      // A metric hook must not turn a decision into an error.
    }
    return this.#fallback.checkSync(key, localShare(policy, this.#instances), now, true);
  }

  status(): RateLimiterStatus {
    return {
      backend: 'redis',
      degraded: this.#degraded || this.#redis.status !== 'ready',
      keys: this.#fallback.size,
      lastError: this.#lastError,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fallback.close();
    if (!this.#owned) return;
    if (this.#redis.status === 'ready') {
      await Promise.race([this.#redis.quit().catch(() => {}), new Promise((r) => setTimeout(r, 1_000))]);
    }
    this.#redis.disconnect();
  }
}

/** This instance's share of a policy while Redis is out: limit / instances, at least 1 per window. */
export function localShare(policy: RateLimitPolicy, instances: number): RateLimitPolicy {
  if (instances === 1) return policy;
  const share: RateLimitPolicy = {
    name: policy.name,
    limit: Math.max(1, Math.floor(policy.limit / instances)),
    windowSeconds: policy.windowSeconds,
  };
  return policy.burst === undefined
    ? share
    : { ...share, burst: Math.max(1, Math.floor(policy.burst / instances)) };
}
