import {
  type AssertionKey,
  createServiceCallSigner,
  type Logger,
  REVOCATION_CHANNEL,
  REVOCATION_FEED_PATH,
} from '@gatehouse/kit';
import { Redis } from 'ioredis';
import { InternalClient } from '../resilience/internal-client.ts';
import { parseEvent, type RevocationEvent, type RevocationList } from './list.ts';

const MAX_FEED_BYTES = 4 * 1024 * 1024;

export interface RevocationFeedOptions {
  /** The identity service's base URL (internal endpoints). */
  readonly identityUrl: string;
  readonly assertionKeys: readonly AssertionKey[];
  readonly list: RevocationList;
  readonly logger: Logger;
  /** Long-poll wait per request (the identity service answers at once when there is news). */
  readonly waitMs: number;
  /** Push through Redis pub/sub as well, when configured. */
  readonly redisUrl?: string | undefined;
  readonly onEvents?: (count: number, source: 'feed' | 'redis') => void;
  /** Every event applied (to drop cached user records of a revoked user or tenant). */
  readonly onEvent?: (event: RevocationEvent) => void;
}

export interface RevocationFeedStatus {
  readonly synced: boolean;
  readonly cursor: string;
  readonly lastSuccessAt: string | null;
  readonly lastError: string | null;
  readonly redis: 'off' | 'subscribed' | 'disconnected';
  readonly entries: number;
}

/**
 * Keeps the revocation list current. It long-polls the identity service's
 * feed (`GET /internal/revocations?after=CURSOR&wait=MS`, signed as the
 * platform service `gateway`), which answers as soon as a revocation is
 * recorded, so every gateway instance learns of it within a second; with
 * Redis configured it also listens on `gatehouse:revocations`, and the feed
 * still catches up whatever a dropped subscription missed.
 *
 * Failure mode: if the identity service cannot be reached, the gateway keeps
 * the list it has and keeps serving (new revocations wait until it is back);
 * /ready reports it not ready only until the first successful sync.
 */
export class RevocationFeed {
  readonly #options: RevocationFeedOptions;
  readonly #client: InternalClient;
  #cursor = '0';
  #synced = false;
  #lastSuccess = 0;
  #lastError: string | null = null;
  #stopped = false;
  #abort = new AbortController();
  #redis: Redis | undefined;
  #loop: Promise<void> | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #firstSync: Promise<void>;
  #resolveFirstSync!: () => void;

  constructor(options: RevocationFeedOptions) {
    this.#options = options;
    // No breaker: the loop below is its own (it backs off and keeps the list it has).
    this.#client = new InternalClient({
      url: options.identityUrl,
      sign: createServiceCallSigner(options.assertionKeys, 'gateway'),
      timeoutMs: options.waitMs + 10_000,
      maxBodyBytes: MAX_FEED_BYTES,
      what: 'feed answer',
    });
    this.#firstSync = new Promise((resolve) => {
      this.#resolveFirstSync = resolve;
    });
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Starts pulling (and subscribing); resolves after the first sync or `waitFirstMs`, whichever comes first. */
  async start(waitFirstMs = 2_000): Promise<void> {
    if (this.#options.redisUrl !== undefined) this.#subscribe(this.#options.redisUrl);
    this.#loop = this.#run();
    this.#pruneTimer = setInterval(() => this.#options.list.prune(), 60_000);
    this.#pruneTimer.unref();
    await Promise.race([this.#firstSync, new Promise((r) => setTimeout(r, waitFirstMs).unref())]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    clearInterval(this.#pruneTimer);
    await this.#loop;
    if (this.#redis !== undefined) await this.#redis.quit().catch(() => this.#redis?.disconnect());
  }

  status(): RevocationFeedStatus {
    let redis: RevocationFeedStatus['redis'] = 'off';
    if (this.#redis !== undefined) redis = this.#redis.status === 'ready' ? 'subscribed' : 'disconnected';
    return {
      synced: this.#synced,
      cursor: this.#cursor,
      lastSuccessAt: this.#lastSuccess > 0 ? new Date(this.#lastSuccess).toISOString() : null,
      lastError: this.#lastError,
      redis,
      entries: this.#options.list.size,
    };
  }

  async #run(): Promise<void> {
    let backoff = 250;
    while (!this.#stopped) {
      try {
        // The first call does not wait, so a fresh gateway syncs at once.
        await this.#pull(this.#synced ? this.#options.waitMs : 0);
        backoff = 250;
      } catch (err) {
        if (this.#stopped) return;
        this.#lastError = (err as Error).message;
        this.#options.logger.warn(
          { err: this.#lastError, backoffMs: backoff },
          'revocations: feed unreachable, retrying',
        );
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  async #pull(waitMs: number): Promise<void> {
    const body = await this.#client.call(
      {
        method: 'GET',
        path: REVOCATION_FEED_PATH,
        query: `?after=${this.#cursor}&wait=${waitMs}`,
        headers: { accept: 'application/json' },
        signal: this.#abort.signal,
        // A long poll holds the call for up to `waitMs` before it answers.
        timeoutMs: waitMs + 10_000,
      },
      (answer) => {
        if (answer.statusCode !== 200) throw new Error(`feed answered ${answer.statusCode}`);
        return { value: JSON.parse(answer.text) as { events?: unknown; cursor?: unknown }, healthy: true };
      },
    );
    if (!Array.isArray(body.events) || (typeof body.cursor !== 'string' && typeof body.cursor !== 'number')) {
      throw new Error('feed answer has no events or cursor');
    }
    let applied = 0;
    for (const raw of body.events) {
      const event = parseEvent(raw);
      if (event === undefined) {
        this.#options.logger.warn({ event: raw }, 'revocations: malformed event ignored');
        continue;
      }
      this.#options.list.apply(event);
      this.#options.onEvent?.(event);
      applied++;
    }
    this.#cursor = String(body.cursor);
    this.#lastSuccess = Date.now();
    this.#lastError = null;
    if (applied > 0) this.#options.onEvents?.(applied, 'feed');
    if (!this.#synced) {
      this.#synced = true;
      this.#options.logger.info(
        { cursor: this.#cursor, entries: this.#options.list.size },
        'revocations: synced',
      );
      this.#resolveFirstSync();
    }
  }

  #subscribe(url: string): void {
    const redis = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: true, lazyConnect: false });
    this.#redis = redis;
    redis.on('error', (err: Error) =>
      this.#options.logger.warn({ err: err.message }, 'revocations: redis problem'),
    );
    redis.on('message', (_channel: string, message: string) => {
      let event: ReturnType<typeof parseEvent>;
      try {
        event = parseEvent(JSON.parse(message));
      } catch {
        event = undefined;
      }
      if (event === undefined) return;
      this.#options.list.apply(event);
      this.#options.onEvent?.(event);
      this.#options.onEvents?.(1, 'redis');
    });
    redis.subscribe(REVOCATION_CHANNEL).catch((err: Error) => {
      this.#options.logger.warn(
        { err: err.message },
        'revocations: subscribe failed; the feed still delivers',
      );
    });
  }
}
