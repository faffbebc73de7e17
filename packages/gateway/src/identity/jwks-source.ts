import type { Logger } from '@gatehouse/kit';
import type { JWK } from 'jose';
import { request } from 'undici';
import { readCapped } from '../resilience/capped-body.ts';
import { importPublicJwks, type VerificationKey } from './keys.ts';

export interface JwksOptions {
  readonly url: string;
  readonly refreshIntervalMs: number;
  readonly cooldownMs: number;
  readonly maxStaleMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Called whenever the key set changes (the token cache is cleared). */
  readonly onChange?: () => void;
  readonly now?: () => number;
}

const MAX_JWKS_BYTES = 256 * 1024;

export interface JwksStatus {
  readonly url: string;
  readonly keys: number;
  readonly lastSuccessAt: string | null;
  readonly lastError: string | null;
  readonly stale: boolean;
}

/**
 * Keys fetched from a JWKS endpoint and kept in memory. Refreshed on an
 * interval; an unknown `kid` triggers at most one refetch per cooldown (and
 * concurrent ones share it), so a flood of made-up kids cannot hammer the
 * identity service. While the endpoint is down the last good keys keep
 * working, up to `maxStaleMs`; after that no key is trusted.
 */
export class JwksSource {
  readonly #options: JwksOptions;
  readonly #now: () => number;
  #keys = new Map<string, VerificationKey>();
  /** kid and key material of the current set: a key replaced under the same kid is a change. */
  #fingerprint = '';
  #lastSuccess = 0;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #lastError: string | null = null;
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = 1_000;

  constructor(options: JwksOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** First fetch, then the refresh timer. A failure here is logged, not thrown: /ready reports it. */
  async start(): Promise<void> {
    await this.refresh('start');
    this.#timer = setInterval(() => void this.refresh('interval'), this.#options.refreshIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#retryTimer);
  }

  /** True while the key set may be used (fetched once, not older than maxStale). */
  get usable(): boolean {
    return this.#lastSuccess > 0 && this.#now() - this.#lastSuccess <= this.#options.maxStaleMs;
  }

  /** The key for `kid`, refetching (within the cooldown) when it is unknown. */
  async lookup(kid: string): Promise<VerificationKey | undefined> {
    const known = this.#keys.get(kid);
    if (known !== undefined) return known;
    if (this.#now() - this.#lastAttempt >= this.#options.cooldownMs) await this.refresh('unknown_kid');
    else if (this.#inFlight !== undefined) await this.#inFlight;
    return this.#keys.get(kid);
  }

  refresh(reason: string): Promise<void> {
    this.#inFlight ??= this.#fetch(reason).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  status(): JwksStatus {
    return {
      url: this.#options.url,
      keys: this.#keys.size,
      lastSuccessAt: this.#lastSuccess > 0 ? new Date(this.#lastSuccess).toISOString() : null,
      lastError: this.#lastError,
      stale: !this.usable,
    };
  }

  async #fetch(reason: string): Promise<void> {
    const { logger, url, timeoutMs } = this.#options;
    this.#lastAttempt = this.#now();
    try {
      // undici's request() follows no redirects: a JWKS that moved is an error, not a hop.
      const res = await request(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`JWKS answered ${res.statusCode}`);
      }
      const text = await readCapped(res.body, MAX_JWKS_BYTES, 'JWKS');
      const document = JSON.parse(text) as { keys?: unknown };
      if (!Array.isArray(document.keys)) throw new Error('JWKS has no keys array');
      const { keys, rejected } = await importPublicJwks(document.keys as JWK[]);
      for (const r of rejected) logger.warn({ kid: r.kid, reason: r.reason }, 'jwks: key refused');
      if (keys.length === 0) throw new Error('JWKS has no usable key');
      const next = new Map(keys.map((k) => [k.kid as string, k]));
      const fingerprint = keys
        .map((k) => `${k.kid}:${k.fingerprint}`)
        .sort()
        .join(',');
      const changed = fingerprint !== this.#fingerprint;
      this.#fingerprint = fingerprint;
      this.#keys = next;
      this.#lastSuccess = this.#now();
      this.#lastError = null;
      this.#retryMs = 1_000;
      if (changed) {
        logger.info({ reason, kids: [...next.keys()] }, 'jwks: key set loaded');
        this.#options.onChange?.();
      }
    } catch (err) {
      this.#lastError = (err as Error).message;
      logger.warn(
        { reason, err: this.#lastError, usable: this.usable },
        'jwks: fetch failed, keeping last good keys',
      );
      // With no usable key (e.g. the identity service starts after the gateway), retry soon, with
      // backoff, rather than wait for the refresh interval or a cooldown.
      if (!this.usable && this.#retryTimer === undefined) {
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          void this.refresh('retry');
        }, this.#retryMs);
        this.#retryTimer.unref();
        this.#retryMs = Math.min(this.#retryMs * 2, this.#options.refreshIntervalMs);
      }
    }
  }
}
