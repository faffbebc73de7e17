import { EventEmitter } from 'node:events';
import { type Database, type Logger, type Queryable, REVOCATION_CHANNEL } from '@gatehouse/kit/service';
import { Redis } from 'ioredis';
import { insertAudit } from '../db/audit.ts';
import {
  insertRevocations,
  pruneRevocations,
  type RevocationEvent,
  readRevocations,
} from '../db/revocations.ts';

export type { RevocationEvent } from '../db/revocations.ts';

const POLL_MS = 250;
const PAGE = 1000;

/**
 * Revocations are rows in the database (so the feed survives restarts and
 * every replica serves the same feed), announced after commit to local
 * long-polls and, when Redis is configured, on the `gatehouse:revocations`
 * channel. Gateways that miss a message catch up from the feed.
 */
export class RevocationFeed {
  readonly #db: Database;
  readonly #logger: Logger;
  readonly #redis: Redis | undefined;
  readonly #local = new EventEmitter();
  readonly #stopping: () => boolean;

  /** `stopping` ends open long polls at once when the process starts shutting down. */
  constructor(
    db: Database,
    logger: Logger,
    redisUrl: string | undefined,
    stopping: () => boolean = () => false,
  ) {
    this.#db = db;
    this.#stopping = stopping;
    this.#logger = logger;
    this.#local.setMaxListeners(0);
    if (redisUrl !== undefined) {
      this.#redis = new Redis(redisUrl, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        lazyConnect: false,
      });
      this.#redis.on('error', (err) => this.#logger.warn({ err: err.message }, 'redis: connection problem'));
    }
  }

  get redisReady(): boolean | undefined {
    return this.#redis === undefined ? undefined : this.#redis.status === 'ready';
  }

  /** Writes the events in the caller's transaction; call `announce` after it commits. */
  async record(q: Queryable, events: readonly RevocationEvent[]): Promise<void> {
    if (events.length === 0) return;
    await insertRevocations(q, events);
    await insertAudit(q, { event: 'tokens_revoked', detail: { events } });
  }

  announce(events: readonly RevocationEvent[]): void {
    if (events.length === 0) return;
    this.#local.emit('events');
    this.#logger.info({ events }, 'revocations recorded');
    const redis = this.#redis;
    if (redis === undefined) return;
    for (const event of events) {
      redis.publish(REVOCATION_CHANNEL, JSON.stringify(event)).catch((err: Error) => {
        this.#logger.warn({ err: err.message }, 'redis: publish failed; gateways catch up from the feed');
      });
    }
  }

  /** Events after `cursor`; waits up to `waitMs` for new ones when there are none (long poll). */
  async read(
    after: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<{ events: RevocationEvent[]; cursor: number }> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const page = await readRevocations(this.#db, after, PAGE);
      const done = page.events.length > 0 || Date.now() >= deadline || signal?.aborted === true;
      if (done || this.#stopping()) return page;
      // Woken by a local revocation at once; other replicas' rows are seen by the next poll.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#local.off('events', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
        this.#local.once('events', done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  prune(maxTokenLifetime: number): Promise<number> {
    return pruneRevocations(this.#db, Math.floor(Date.now() / 1000), maxTokenLifetime + 60);
  }

  async close(): Promise<void> {
    this.#local.emit('events');
    if (this.#redis !== undefined) await this.#redis.quit().catch(() => this.#redis?.disconnect());
  }
}

/**
 * Runs `fn` in one transaction with a `revoke` collector: the events are
 * stored in the same transaction and announced once it has committed.
 */
export async function withRevocations<T>(
  db: Database,
  feed: RevocationFeed,
  fn: (tx: Queryable, revoke: (...events: RevocationEvent[]) => void) => Promise<T>,
): Promise<T> {
  const events: RevocationEvent[] = [];
  const result = await db.transaction(async (tx) => {
    const value = await fn(tx, (...more) => events.push(...more));
    await feed.record(tx, events);
    return value;
  });
  feed.announce(events);
  return result;
}

/** A per-user watermark that also covers tokens issued earlier in the current second. */
export function nextSecond(): number {
  return Math.floor(Date.now() / 1000) + 1;
}
