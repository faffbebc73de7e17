import { EventEmitter } from 'node:events';
import {
  CHAT_EVENTS_CHANNEL,
  type ChatFanout,
  ENTITLEMENT_CHANNEL,
  parseRevocationEvent,
  REVOCATION_CHANNEL,
  type RevocationEvent,
} from '@gatehouse/kit';
import type { Logger } from '@gatehouse/kit/service';
import { Redis } from 'ioredis';

export interface BusListener {
  /** An event to fan out to this instance's sockets. */
  event(fanout: ChatFanout): void;
  /** Events may have been missed (the subscription was down): clients should catch up. */
  resync(): void;
  /** A token, user or tenant was revoked (from the identity service's channel). */
  revocation(event: RevocationEvent): void;
  /** Billing changed a tenant's entitlement record. */
  entitlementChanged(tenantId: string): void;
}

/**
 * How chat instances share events. Every change is stored before it is
 * published, so a publish that fails loses nothing: clients catch up with
 * `since`. In one process the bus is an EventEmitter; with REDIS_URL it is
 * Redis pub/sub, and every instance (this one included) delivers what it
 * receives from the channel.
 */
export interface EventBus {
  publish(fanout: ChatFanout): void;
  listen(listener: BusListener): void;
  /** Redis: subscribed now; in-process: always. */
  readonly ready: boolean;
  close(): Promise<void>;
}

export class LocalBus implements EventBus {
  readonly #emitter = new EventEmitter();
  readonly ready = true;

  publish(fanout: ChatFanout): void {
    // After the caller's answer is on its way, like a message coming back from Redis.
    queueMicrotask(() => this.#emitter.emit('event', fanout));
  }

  listen(listener: BusListener): void {
    this.#emitter.on('event', (f: ChatFanout) => listener.event(f));
  }

  async close(): Promise<void> {
    this.#emitter.removeAllListeners();
  }
}

export class RedisBus implements EventBus {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #logger: Logger;
  readonly #listeners: BusListener[] = [];
  #subscribed = false;
  #everSubscribed = false;

  constructor(url: string, logger: Logger) {
    this.#logger = logger;
    const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 250 };
    this.#pub = new Redis(url, options);
    this.#sub = new Redis(url, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const [name, conn] of [
      ['publisher', this.#pub],
      ['subscriber', this.#sub],
    ] as const) {
      conn.on('error', (err: Error) =>
        logger.warn({ err: err.message, conn: name }, 'redis: connection problem'),
      );
    }
    this.#sub.on('ready', () => {
      this.#sub.subscribe(CHAT_EVENTS_CHANNEL, REVOCATION_CHANNEL, ENTITLEMENT_CHANNEL).then(
        () => {
          const again = this.#everSubscribed;
          this.#subscribed = true;
          this.#everSubscribed = true;
          if (again) {
            logger.info('redis: subscribed again; telling clients to catch up');
            for (const l of this.#listeners) l.resync();
          }
        },
        (err: Error) => logger.warn({ err: err.message }, 'redis: subscribe failed'),
      );
    });
    this.#sub.on('close', () => {
      this.#subscribed = false;
    });
    this.#sub.on('message', (channel: string, message: string) => this.#receive(channel, message));
  }

  get ready(): boolean {
    return this.#subscribed;
  }

  #receive(channel: string, message: string): void {
    try {
      if (channel === CHAT_EVENTS_CHANNEL) {
        const fanout = JSON.parse(message) as ChatFanout;
        if (typeof fanout?.tenantId !== 'string' || typeof fanout.event?.type !== 'string') return;
        for (const l of this.#listeners) l.event(fanout);
      } else if (channel === REVOCATION_CHANNEL) {
        const event = parseRevocationEvent(JSON.parse(message));
        if (event !== undefined) for (const l of this.#listeners) l.revocation(event);
      } else if (channel === ENTITLEMENT_CHANNEL) {
        for (const l of this.#listeners) l.entitlementChanged(message);
      }
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message, channel }, 'redis: unreadable message dropped');
    }
  }

  publish(fanout: ChatFanout): void {
    this.#pub.publish(CHAT_EVENTS_CHANNEL, JSON.stringify(fanout)).catch((err: Error) => {
      // Stored already: subscribers catch up when they resubscribe (resync) or reconnect (since).
      this.#logger.warn({ err: err.message }, 'redis: publish failed; clients catch up from the database');
      if (!this.#subscribed) return;
      for (const l of this.#listeners) l.resync();
    });
  }

  listen(listener: BusListener): void {
    this.#listeners.push(listener);
  }

  /** The connection for other commands (counters, entitlement records). */
  get commands(): Redis {
    return this.#pub;
  }

  async close(): Promise<void> {
    await Promise.all([this.#pub, this.#sub].map((c) => c.quit().catch(() => c.disconnect())));
  }
}
