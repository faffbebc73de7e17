import { CHAT_CLOSE, type ChatFanout, type RevocationEvent } from '@gatehouse/kit';
import type { Logger } from '@gatehouse/kit/service';
import { Counter, Gauge, type Registry } from '@gatehouse/kit/service';
import type { Client, Outgoing } from './client.ts';

const key = (tenantId: string, id: string) => `${tenantId}\n${id}`;

export interface HubOptions {
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Bytes queued for one socket before typing is dropped (half of it) and the socket closed (all). */
  readonly maxBufferedBytes: number;
  readonly pingSeconds: number;
}

/**
 * This instance's sockets, indexed by user and by conversation. Events from
 * the bus go to the sockets of the conversation's members; a member who
 * leaves or is removed is unsubscribed right after the `member.left` event,
 * so they receive nothing more. A slow socket's buffer is bounded: typing is
 * dropped first, then the socket is closed (4408) and the client catches up.
 */
export class Hub {
  readonly #byUser = new Map<string, Set<Client>>();
  readonly #byConversation = new Map<string, Set<Client>>();
  readonly #options: HubOptions;
  readonly #pinger: NodeJS.Timeout;
  readonly #delivered: Counter;
  readonly #dropped: Counter;

  constructor(options: HubOptions) {
    this.#options = options;
    this.#delivered = new Counter({
      name: 'chat_ws_events_delivered_total',
      help: 'Events written to sockets',
      labelNames: ['type'],
      registers: [options.metrics],
    });
    this.#dropped = new Counter({
      name: 'chat_ws_events_dropped_total',
      help: 'Events not written: typing dropped for a slow socket, or the socket closed for it',
      labelNames: ['reason'],
      registers: [options.metrics],
    });
    const hub = this;
    new Gauge({
      name: 'chat_ws_connections',
      help: 'Open chat sockets on this instance',
      registers: [options.metrics],
      collect() {
        this.set(hub.size);
      },
    });
    // Each round: a socket that did not answer the previous ping is dead and dropped.
    this.#pinger = setInterval(() => this.#ping(), options.pingSeconds * 1000);
    this.#pinger.unref();
  }

  get size(): number {
    let n = 0;
    for (const set of this.#byUser.values()) n += set.size;
    return n;
  }

  add(client: Client): void {
    this.#index(this.#byUser, key(client.tenantId, client.userId), client);
    for (const c of client.conversations) this.#index(this.#byConversation, key(client.tenantId, c), client);
  }

  remove(client: Client): void {
    clearTimeout(client.expiryTimer);
    this.#unindex(this.#byUser, key(client.tenantId, client.userId), client);
    for (const c of client.conversations)
      this.#unindex(this.#byConversation, key(client.tenantId, c), client);
  }

  /** An event from the bus (this instance's or another's). */
  deliver({ tenantId, event }: ChatFanout): void {
    const conversation = key(tenantId, event.conversationId);
    if (event.type === 'member.joined') {
      for (const c of this.#byUser.get(key(tenantId, event.userId)) ?? []) {
        c.conversations.add(event.conversationId);
        this.#index(this.#byConversation, conversation, c);
      }
    }
    const targets = this.#byConversation.get(conversation);
    if (targets !== undefined && targets.size > 0) {
      const text = JSON.stringify(event);
      for (const c of targets) {
        if (event.type === 'typing' && c.userId === event.userId) continue;
        this.send(c, event, text);
      }
    }
    if (event.type === 'member.left') {
      for (const c of this.#byUser.get(key(tenantId, event.userId)) ?? []) {
        c.conversations.delete(event.conversationId);
        this.#unindex(this.#byConversation, conversation, c);
      }
    }
  }

  /** Writes one event, within the socket's buffer bound. */
  send(client: Client, event: Outgoing, text = JSON.stringify(event)): void {
    const ws = client.ws;
    if (ws.readyState !== ws.OPEN) return;
    const buffered = ws.bufferedAmount;
    if (event.type === 'typing' && buffered > this.#options.maxBufferedBytes / 2) {
      this.#dropped.inc({ reason: 'typing' });
      return;
    }
    if (buffered + text.length > this.#options.maxBufferedBytes) {
      this.#dropped.inc({ reason: 'slow_client' });
      this.#options.logger.info({ userId: client.userId, buffered }, 'chat socket too slow; closing it');
      this.close(client, CHAT_CLOSE.tooSlow, 'too slow: reconnect and catch up with since');
      return;
    }
    ws.send(text);
    this.#delivered.inc({ type: event.type });
  }

  close(client: Client, code: number, reason: string): void {
    this.remove(client);
    const ws = client.ws;
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      ws.close(code, reason);
      // A client that does not answer the close handshake does not keep its socket.
      setTimeout(() => ws.terminate(), 2000).unref();
    }
  }

  /** The subscription to other instances was down: every client catches up with `since`. */
  resync(): void {
    const text = JSON.stringify({ type: 'resync' });
    for (const set of this.#byUser.values()) for (const c of set) this.send(c, { type: 'resync' }, text);
  }

  /** Revoked tokens end their sockets (4401) at once. */
  revoke(event: RevocationEvent): void {
    const matches = (c: Client) =>
      event.type === 'jti'
        ? c.jti === event.jti
        : event.type === 'user'
          ? c.userId === event.sub && c.connectedAt < event.notBefore
          : c.tenantId === event.tid && c.connectedAt < event.notBefore;
    const all = [...this.#byUser.values()].flatMap((set) => [...set]);
    for (const c of all) if (matches(c)) this.close(c, CHAT_CLOSE.tokenExpired, 'token revoked');
  }

  #ping(): void {
    for (const set of this.#byUser.values()) {
      for (const c of [...set]) {
        if (!c.alive) {
          this.remove(c);
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }
  }

  /** Shutdown: every socket is told to go elsewhere (1001) and catch up. */
  closeAll(): void {
    clearInterval(this.#pinger);
    const all = [...this.#byUser.values()].flatMap((set) => [...set]);
    for (const c of all) this.close(c, CHAT_CLOSE.goingAway, 'server shutting down');
  }

  #index(map: Map<string, Set<Client>>, k: string, c: Client): void {
    let set = map.get(k);
    if (set === undefined) {
      set = new Set();
      map.set(k, set);
    }
    set.add(c);
  }

  #unindex(map: Map<string, Set<Client>>, k: string, c: Client): void {
    const set = map.get(k);
    if (set === undefined) return;
    set.delete(c);
    if (set.size === 0) map.delete(k);
  }
}
