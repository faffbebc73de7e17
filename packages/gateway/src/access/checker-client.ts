import type { ServiceCallSigner } from '@gatehouse/kit';
import { Pool } from 'undici';
import { readCapped } from '../read-capped.ts';
import { type BreakerOptions, type BreakerState, CircuitBreaker } from '../upstream/breaker.ts';
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

export function checkerBreakerOptions(config: CheckerConfig): BreakerOptions {
  const b = config.breaker;
  return {
    windowMs: b.windowSeconds * 1000,
    buckets: 10,
    minimumRequests: b.minimumRequests,
    failureRate: b.failureRatePercent / 100,
    openMs: b.openSeconds * 1000,
    halfOpenProbes: b.halfOpenProbes,
    probeTimeoutMs: Math.min(b.probeTimeoutMs, config.timeoutMs),
  };
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
  readonly #sign: ServiceCallSigner;

  constructor(
    name: string,
    config: CheckerConfig,
    sign: ServiceCallSigner,
    onBreakerChange?: (state: BreakerState, previous: BreakerState) => void,
  ) {
    this.name = name;
    this.#config = config;
    this.#sign = sign;
    const url = new URL(config.url);
    this.#path = `${url.pathname}${url.search}`;
    this.#pool = new Pool(url.origin, {
      connections: config.connections,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      connect: { timeout: Math.min(config.timeoutMs, 5_000) },
    });
    this.breaker = new CircuitBreaker(`access:${name}`, checkerBreakerOptions(config), onBreakerChange);
  }

  get url(): string {
    return this.#config.url;
  }

  /** Asks the checker; never throws. */
  async check(query: AccessQuery, requestId: string | undefined): Promise<CheckOutcome> {
    const permit = this.breaker.acquire();
    if (permit === 'no') return { allowed: false, reason: 'circuit_open' };
    const probe = permit === 'probe';
    const timeoutMs = probe ? this.breaker.options.probeTimeoutMs : this.#config.timeoutMs;
    const outcome = await this.#call(query, requestId, timeoutMs);
    // 4xx says the checker is up but refuses the call (bad signature, wrong path): it denies
    // without counting against the breaker, as 4xx never does for upstreams.
    if (outcome.counts) this.breaker.failure(probe);
    else this.breaker.success(probe);
    return outcome.result;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #call(
    query: AccessQuery,
    requestId: string | undefined,
    timeoutMs: number,
  ): Promise<{ result: CheckOutcome; counts: boolean }> {
    const body = JSON.stringify({
      tenantId: query.tenantId,
      userId: query.userId,
      resourceType: query.resourceType,
      resourceId: query.resourceId,
      action: query.action,
    });
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      const res = await this.#pool.request({
        path: this.#path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...this.#sign('POST', this.#path, requestId || undefined),
        },
        body,
        signal: controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      if (res.statusCode !== 200) {
        await res.body.dump().catch(() => undefined);
        return {
          result: { allowed: false, reason: 'error', detail: `status ${res.statusCode}` },
          counts: res.statusCode >= 500 || res.statusCode < 400,
        };
      }
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > MAX_ANSWER_BYTES) {
        discard(res.body);
        return { result: { allowed: false, reason: 'bad_answer', detail: 'answer too large' }, counts: true };
      }
      let text: string;
      try {
        text = await readCapped(res.body, MAX_ANSWER_BYTES, 'access answer');
      } catch (err) {
        if (timedOut) throw err;
        discard(res.body);
        return {
          result: { allowed: false, reason: 'bad_answer', detail: (err as Error).message },
          counts: true,
        };
      }
      const allowed = parseAnswer(text);
      if (allowed === undefined) {
        return {
          result: { allowed: false, reason: 'bad_answer', detail: 'not {"allowed": boolean}' },
          counts: true,
        };
      }
      return { result: { allowed, reason: allowed ? 'allowed' : 'denied' }, counts: false };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (
        timedOut ||
        code === 'UND_ERR_HEADERS_TIMEOUT' ||
        code === 'UND_ERR_BODY_TIMEOUT' ||
        code === 'UND_ERR_CONNECT_TIMEOUT'
      ) {
        return {
          result: { allowed: false, reason: 'timeout', detail: `after ${timeoutMs} ms` },
          counts: true,
        };
      }
      return {
        result: {
          allowed: false,
          reason: 'error',
          detail: typeof code === 'string' ? code : (err as Error).message,
        },
        counts: true,
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Drops an answer body unread (the connection is not reused); its abort error is expected. */
function discard(body: { on(event: 'error', listener: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}
