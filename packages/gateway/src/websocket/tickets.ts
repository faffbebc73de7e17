import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Single-use WebSocket connection tickets. A browser cannot put an
 * `Authorization` header on a WebSocket, and a long-lived token in a URL ends
 * up in logs and histories; so an authenticated request mints a ticket (a
 * random 256-bit string, useless after one use or `ttlSeconds`), and the
 * upgrade redeems it with `?ticket=`.
 *
 * What is stored is the access token the ticket was minted with: on
 * redemption the token is verified again like any other (signature, expiry,
 * revocation, user, roles), so someone able to write into the store still
 * cannot make up an identity. Keys are the ticket's SHA-256, so the store
 * never holds a usable ticket either.
 *
 * Redeemable on any instance when the store is Redis (GETDEL: exactly one
 * redeemer wins); in memory it serves one process.
 */
export interface TicketRecord {
  /** The access token the ticket stands for. */
  readonly token: string;
  /** The Origin of the minting request, when it had one: the upgrade must come from the same. */
  readonly origin: string | undefined;
}

export interface TicketStore {
  readonly backend: 'memory' | 'redis';
  put(key: string, record: TicketRecord, ttlSeconds: number): Promise<void>;
  /** The record, removed in the same step; undefined when unknown, expired or already taken. */
  take(key: string): Promise<TicketRecord | undefined>;
  close(): Promise<void>;
}

const TICKET = /^[A-Za-z0-9_-]{43}$/;
const KEY_PREFIX = 'gatehouse:ws-ticket:';

export function newTicket(): string {
  return randomBytes(32).toString('base64url');
}

/** The store key of a ticket, or undefined for anything that cannot be a ticket. */
export function ticketKey(ticket: string): string | undefined {
  if (!TICKET.test(ticket)) return undefined;
  return KEY_PREFIX + createHash('sha256').update(ticket).digest('base64url');
}

export class Tickets {
  readonly #store: TicketStore;
  readonly #ttlSeconds: number;

  constructor(store: TicketStore, ttlSeconds: number) {
    this.#store = store;
    this.#ttlSeconds = ttlSeconds;
  }

  get ttlSeconds(): number {
    return this.#ttlSeconds;
  }

  get backend(): 'memory' | 'redis' {
    return this.#store.backend;
  }

  async mint(record: TicketRecord): Promise<string> {
    const ticket = newTicket();
    await this.#store.put(ticketKey(ticket) as string, record, this.#ttlSeconds);
    return ticket;
  }

  async redeem(ticket: string): Promise<TicketRecord | undefined> {
    const key = ticketKey(ticket);
    return key === undefined ? undefined : this.#store.take(key);
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}

export function memoryTicketStore(clock: () => number = Date.now): TicketStore {
  const records = new Map<string, { record: TicketRecord; expires: number }>();
  return {
    backend: 'memory',
    async put(key, record, ttlSeconds) {
      const now = clock();
      // Expired tickets are dropped as new ones come: the map never holds more than a TTL's worth.
      for (const [k, entry] of records) {
        if (entry.expires > now) break;
        records.delete(k);
      }
      records.set(key, { record, expires: now + ttlSeconds * 1000 });
    },
    async take(key) {
      const entry = records.get(key);
      if (entry === undefined) return undefined;
      records.delete(key);
      return entry.expires > clock() ? entry.record : undefined;
    },
    async close() {
      records.clear();
    },
  };
}

export function redisTicketStore(redis: Redis): TicketStore {
  return {
    backend: 'redis',
    async put(key, record, ttlSeconds) {
      await redis.set(key, JSON.stringify(record), 'EX', ttlSeconds);
    },
    async take(key) {
      const value = await redis.getdel(key);
      if (value === null) return undefined;
      const parsed = JSON.parse(value) as { token?: unknown; origin?: unknown };
      if (typeof parsed.token !== 'string') return undefined;
      return { token: parsed.token, origin: typeof parsed.origin === 'string' ? parsed.origin : undefined };
    },
    async close() {
      redis.disconnect();
    },
  };
}
