import type { Socket } from 'node:net';
import type { Logger } from '@gatehouse/kit';
import type { WebsocketsConfig } from '../config/schema.ts';
import { gatewayError } from '../errors.ts';
import type { Identity } from '../identity/verifier.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { TierResolver } from '../ratelimit/index.ts';
import type { RevocationList } from '../revocation/list.ts';
import type { CompiledRoute } from '../routing/route-table.ts';

/** Why a tunnel ended: a metric label and a log field. */
export type CloseReason =
  | 'client'
  | 'upstream'
  | 'expiry'
  | 'revocation'
  | 'idle'
  | 'lifetime'
  | 'drain'
  | 'error';

/** A place under the connection caps, held from the handshake until the tunnel ends (or never opens). */
export interface Lease {
  release(): void;
}

export interface TunnelFacts {
  readonly route: CompiledRoute;
  readonly identity: Identity | undefined;
  readonly requestId: string;
  readonly traceId: string;
  readonly clientIp: string;
}

/** Seconds a refused handshake is told to wait: caps free up as other sockets close. */
const CAP_RETRY_AFTER_S = '10';

class Tunnel {
  readonly facts: TunnelFacts;
  readonly client: Socket;
  readonly upstream: Socket;
  readonly opened = performance.now();
  reason: CloseReason | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #onClosed: (tunnel: Tunnel) => void;

  constructor(facts: TunnelFacts, client: Socket, upstream: Socket, onClosed: (tunnel: Tunnel) => void) {
    this.facts = facts;
    this.client = client;
    this.upstream = upstream;
    this.#onClosed = onClosed;
  }

  /** Ends the tunnel with `reason` after `inMs`. */
  closeAt(reason: CloseReason, inMs: number): void {
    const timer = setTimeout(() => this.close(reason), Math.max(0, inMs));
    timer.unref();
    this.#timers.push(timer);
  }

  close(reason: CloseReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    for (const timer of this.#timers) clearTimeout(timer);
    this.client.destroy();
    this.upstream.destroy();
    this.#onClosed(this);
  }
}

/**
 * Every open WebSocket tunnel of this process: the caps (per user, per tenant
 * by tier, per instance), the lifetime rules (token expiry, revocation, idle,
 * maximum lifetime), the drain on shutdown, and the metrics and the one log
 * line each tunnel gets when it ends.
 *
 * The gateway tunnels bytes, it does not speak WebSocket: its own cut-off
 * closes the TCP connections. Services close first and cleanly (4401) from
 * the `tokenExp` in the signed assertion; this is the backstop.
 */
export class TunnelRegistry {
  readonly #config: WebsocketsConfig;
  readonly #metrics: GatewayMetrics;
  readonly #logger: Logger;
  readonly #tiers: TierResolver;
  readonly #revocations: RevocationList;
  readonly #open = new Set<Tunnel>();
  readonly #perUser = new Map<string, number>();
  readonly #perTenant = new Map<string, number>();
  #held = 0;
  #draining = false;
  #drained: (() => void) | undefined;

  constructor(options: {
    readonly config: WebsocketsConfig;
    readonly metrics: GatewayMetrics;
    readonly logger: Logger;
    readonly tiers: TierResolver;
    readonly revocations: RevocationList;
  }) {
    this.#config = options.config;
    this.#metrics = options.metrics;
    this.#logger = options.logger.child({}, { redact: [] });
    this.#tiers = options.tiers;
    this.#revocations = options.revocations;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * A place under every cap, or a 429 with Retry-After. Handshakes in progress hold their place,
   * so a burst of them cannot pass a cap together.
   */
  async admit(identity: Identity | undefined): Promise<Lease> {
    const tier = identity === undefined ? undefined : await this.#tiers.tierOf(identity.tid);
    const over =
      this.#held >= this.#config.maxConnections
        ? 'instance'
        : identity !== undefined && (this.#perUser.get(identity.sub) ?? 0) >= this.#config.maxPerUser
          ? 'user'
          : identity !== undefined &&
              tier !== undefined &&
              (this.#perTenant.get(identity.tid) ?? 0) >= this.#config.maxPerTenant[tier]
            ? 'tenant'
            : undefined;
    if (over !== undefined) {
      throw Object.assign(
        gatewayError('GW_TOO_MANY_CONNECTIONS', `Too many open connections (${over}); try again later.`, {
          headers: { 'retry-after': CAP_RETRY_AFTER_S },
        }),
        { cap: over },
      );
    }
    this.#held++;
    if (identity !== undefined) {
      bump(this.#perUser, identity.sub, 1);
      bump(this.#perTenant, identity.tid, 1);
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#held--;
        if (identity !== undefined) {
          bump(this.#perUser, identity.sub, -1);
          bump(this.#perTenant, identity.tid, -1);
        }
        if (this.#held === 0) this.#drained?.();
      },
    };
  }

  /** Starts tunnelling between the two sockets under `lease`, with the route's and the token's limits. */
  open(facts: TunnelFacts, client: Socket, upstream: Socket, lease: Lease): void {
    const route = facts.route.id;
    const tunnel = new Tunnel(facts, client, upstream, (t) => {
      this.#open.delete(t);
      lease.release();
      this.#ended(t);
    });
    this.#open.add(tunnel);
    this.#metrics.tunnelsOpen.inc({ route });
    const policy = facts.route.websocket;
    if (policy !== undefined) {
      // Any byte either way resets the client socket's timer: only a silent tunnel is idle.
      client.setTimeout(policy.idleTimeoutMs, () => tunnel.close('idle'));
      tunnel.closeAt('lifetime', policy.maxLifetimeMs);
    }
    if (facts.identity !== undefined) tunnel.closeAt('expiry', facts.identity.exp * 1000 - Date.now());
    client.on('error', () => tunnel.close('error'));
    upstream.on('error', () => tunnel.close('error'));
    client.on('close', () => tunnel.close('client'));
    upstream.on('close', () => tunnel.close('upstream'));
    client.pipe(upstream);
    upstream.pipe(client);
    // Revoked between the check on the handshake and now (an event that arrived meanwhile).
    if (facts.identity !== undefined && this.#revocations.isRevoked(facts.identity))
      tunnel.close('revocation');
  }

  /** After a revocation event: every tunnel whose token is now revoked ends. */
  closeRevoked(): number {
    let closed = 0;
    for (const tunnel of this.#open) {
      const identity = tunnel.facts.identity;
      if (identity !== undefined && this.#revocations.isRevoked(identity)) {
        tunnel.close('revocation');
        closed++;
      }
    }
    return closed;
  }

  /**
   * Shutdown: no new tunnel (handshakes are refused with 503), open ones may finish until
   * `deadlineMs`, then every one left is closed.
   */
  async drain(deadlineMs = this.#config.drainDeadlineMs): Promise<void> {
    this.#draining = true;
    if (this.#held > 0) {
      this.#logger.info({ event: 'websocket_drain', open: this.#open.size, deadlineMs }, 'draining tunnels');
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        setTimeout(resolve, deadlineMs).unref();
      });
    }
    for (const tunnel of [...this.#open]) tunnel.close('drain');
  }

  status() {
    return {
      open: this.#open.size,
      handshaking: this.#held - this.#open.size,
      draining: this.#draining,
      maxConnections: this.#config.maxConnections,
      maxPerUser: this.#config.maxPerUser,
      maxPerTenant: this.#config.maxPerTenant,
    };
  }

  #ended(tunnel: Tunnel): void {
    const { facts, client, reason } = tunnel;
    const route = facts.route.id;
    const seconds = (performance.now() - tunnel.opened) / 1000;
    const metrics = this.#metrics;
    metrics.tunnelsOpen.dec({ route });
    metrics.tunnelCloses.inc({ route, reason: reason as CloseReason });
    metrics.tunnelDuration.observe({ route }, seconds);
    metrics.tunnelBytes.inc({ route, direction: 'in' }, client.bytesRead);
    metrics.tunnelBytes.inc({ route, direction: 'out' }, client.bytesWritten);
    this.#logger.info(
      {
        event: 'websocket_closed',
        requestId: facts.requestId,
        traceId: facts.traceId,
        route,
        upstream: facts.route.upstream.name,
        userId: facts.identity?.sub,
        tenantId: facts.identity?.tid,
        clientIp: facts.clientIp,
        reason,
        durationMs: Math.round(seconds * 1000),
        bytesIn: client.bytesRead,
        bytesOut: client.bytesWritten,
      },
      'websocket tunnel closed',
    );
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}
