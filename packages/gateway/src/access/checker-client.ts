import type { ServiceCallSigner } from '@gatehouse/kit';
import { Pool } from 'undici';
import { type BreakerOptions, type BreakerState, CircuitBreaker } from '../resilience/breaker.ts';
import { type BreakerDefaults, breakerOptions } from '../resilience/breaker-options.ts';
import { InternalClient, type Verdict } from '../resilience/internal-client.ts';
import type { AccessQuery } from './decision-cache.ts';
import type { CheckerConfig } from './schema.ts';

/**
 * One access-check service: `POST <url>` with
 * `{ tenantId, userId, resourceType, resourceId, action }`, signed as the
 * platform service `gateway`; the answer must be `{"allowed": true}` or
 * `{"allowed": false}`. Failure mode: closed. Whatever else happens — a
 * timeout, a refused connection, another status, a body that is not exactly
 * that object, an open breaker — the outcome is a denial with its reason.
 */

/** Why a decision came out as it did: `allowed`, or the reason of a denial. */
export type AccessReason = 'allowed' | 'denied' | 'timeout' | 'error' | 'bad_answer' | 'circuit_open';
export const ACCESS_REASONS: readonly AccessReason[] = [
  'allowed',
  'denied',
  'timeout',
  'error',
  'bad_answer',
  'circuit_open',
];

export interface CheckOutcome {
  readonly allowed: boolean;
  readonly reason: AccessReason;
  /** What went wrong (status, error code), for the log; never sent to the client. */
  readonly detail?: string;
}

/** An answer is a few bytes; anything bigger is not one. */
export const MAX_ANSWER_BYTES = 1_024;

/** The schema's defaults (`access/schema.ts`), which fill every setting before this is used. */
const CHECKER_BREAKER_DEFAULTS: BreakerDefaults = {
  windowMs: 10_000,
  minimumRequests: 20,
  failureRate: 0.5,
  openMs: 5_000,
  halfOpenProbes: 1,
  probeTimeoutMs: 2_000,
};

export function checkerBreakerOptions(config: CheckerConfig): BreakerOptions {
  return breakerOptions(config.breaker, CHECKER_BREAKER_DEFAULTS, config.timeoutMs);
}

/**
 * The checker's verdict from its answer body: true or false only for a JSON
 * object whose one member is a boolean `allowed`; undefined for anything
 * else (`{"allowed":"true"}`, `{"allowed":1}`, `{}`, `true`, junk).
 */
export function parseAnswer(text: string): boolean | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'allowed') return undefined;
  const allowed = (body as { allowed: unknown }).allowed;
  return typeof allowed === 'boolean' ? allowed : undefined;
}

export class AccessCheckerClient {
  readonly name: string;
  readonly breaker: CircuitBreaker;
  readonly #config: CheckerConfig;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #client: InternalClient;

  constructor(
    name: string,
    config: CheckerConfig,
    sign: ServiceCallSigner,
    onBreakerChange?: (state: BreakerState, previous: BreakerState) => void,
  ) {
    this.name = name;
    this.#config = config;
    const url = new URL(config.url);
    this.#path = `${url.pathname}${url.search}`;
    this.#pool = new Pool(url.origin, {
      connections: config.connections,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      connect: { timeout: Math.min(config.timeoutMs, 5_000) },
    });
    this.breaker = new CircuitBreaker(`access:${name}`, checkerBreakerOptions(config), onBreakerChange);
    this.#client = new InternalClient({
      url: url.origin,
      sign,
      timeoutMs: config.timeoutMs,
      maxBodyBytes: MAX_ANSWER_BYTES,
      what: 'access answer',
      dispatcher: this.#pool,
      breaker: this.breaker,
    });
  }

  get url(): string {
    return this.#config.url;
  }

  /** Asks the checker; never throws. */
  async check(query: AccessQuery, requestId: string | undefined): Promise<CheckOutcome> {
    const body = JSON.stringify({
      tenantId: query.tenantId,
      userId: query.userId,
      resourceType: query.resourceType,
      resourceId: query.resourceId,
      action: query.action,
    });
    try {
      return await this.#client.call(
        {
          method: 'POST',
          path: this.#path,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body,
          requestId,
        },
        judgeAnswer,
      );
    } catch (err) {
      return failedCheck(err);
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/**
 * The outcome of an answer, and whether it counts against the breaker. 4xx
 * says the checker is up but refuses the call (bad signature, wrong path): it
 * denies without counting, as 4xx never does for upstreams.
 */
function judgeAnswer(answer: { statusCode: number; text: string }): Verdict<CheckOutcome> {
  if (answer.statusCode !== 200) {
    return {
      value: { allowed: false, reason: 'error', detail: `status ${answer.statusCode}` },
      healthy: answer.statusCode >= 400 && answer.statusCode < 500,
    };
  }
  const allowed = parseAnswer(answer.text);
  if (allowed === undefined) {
    return {
      value: { allowed: false, reason: 'bad_answer', detail: 'not {"allowed": boolean}' },
      healthy: false,
    };
  }
  return { value: { allowed, reason: allowed ? 'allowed' : 'denied' }, healthy: true };
}

/** A call that ended without an answer to judge: denied, with why. */
function failedCheck(err: unknown): CheckOutcome {
  const e = err as { code?: unknown; message: string; declared?: boolean; timeoutMs?: number };
  switch (e.code) {
    case 'INTERNAL_CIRCUIT_OPEN':
      return { allowed: false, reason: 'circuit_open' };
    case 'INTERNAL_TIMEOUT':
      return { allowed: false, reason: 'timeout', detail: `after ${e.timeoutMs} ms` };
    case 'INTERNAL_BODY_UNREADABLE':
      return { allowed: false, reason: 'bad_answer', detail: e.declared ? 'answer too large' : e.message };
    default:
      return { allowed: false, reason: 'error', detail: typeof e.code === 'string' ? e.code : e.message };
  }
}
