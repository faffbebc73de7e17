import { randomBytes } from 'node:crypto';
import { startGateway } from '../servers/gateway.ts';
import { fullGatewayConfig } from '../servers/gateway-full.ts';
import { registerUser, startIdentity } from '../servers/identity.ts';
import { findRedis, startRedis } from '../servers/redis.ts';
import type { Server, ServerContext } from '../servers/server.ts';
import { type ControlledUpstream, startControlledUpstream } from './control-upstream.ts';
import type { RequestSpec } from './drive.ts';
import { createUserSigner, type UserClaims, type UserSigner } from './tokens.ts';

/**
 * The whole platform for the load scenarios, against real dependencies: a
 * throwaway Redis (no persistence), the real identity service, one or more
 * controllable upstreams (bench/lib/control-upstream.ts) and one or more
 * gateway processes (`main.ts serve` with a generated config): keys from the
 * identity service's JWKS plus the bench's own user-token key, revocation
 * feed on Redis, user lookups, rate limits in Redis.
 *
 * Routes: `/api/auth` → the identity service (register, login, refresh and
 * logout public), `/pub` → the first upstream (public), and `/<name>` → each
 * upstream (a token with role owner, admin or member).
 */
export interface UpstreamSpec {
  /** Service time of the upstream per request (ms). */
  readonly delayMs?: number;
  /** Settings of this upstream in the gateway config: maxConcurrent, breaker, retries, timeout. */
  readonly config?: Record<string, unknown>;
}

export interface PlatformSpec {
  /** Upstreams by name (default: one, `bench`). */
  readonly upstreams?: Readonly<Record<string, UpstreamSpec>>;
  /** Gateway instances sharing Redis and the identity service (default 1). */
  readonly gateways?: number;
  /** Rate-limit tiers (default: limits the load never reaches). */
  readonly tiers?: Record<string, unknown>;
  /** The gateway's `limits` block (e.g. shutdownDrainDelayMs). */
  readonly limits?: Record<string, unknown>;
  readonly logLevel: string;
}

export interface LoadUser extends UserClaims {
  readonly email: string;
}

export interface Platform {
  readonly gateways: readonly Server[];
  readonly gateway: Server;
  readonly upstreams: Readonly<Record<string, ControlledUpstream>>;
  readonly identity: Server;
  readonly redis: Server;
  readonly signer: UserSigner;
  /** Registers `count` users (each the owner of a tenant of its own) with the identity service. */
  registerUsers(count: number, concurrency?: number): Promise<LoadUser[]>;
}

export const PUBLIC_PREFIX = '/pub';
export const AUTH_PREFIX = '/api/auth';

/** The claims of a JWT, unverified (the bench's own tokens from the identity service). */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function loadGatewayConfig(
  port: number,
  adminPort: number,
  spec: PlatformSpec,
  urls: { upstreams: Record<string, string>; identity: string; redis: string },
  signer: UserSigner,
): Record<string, unknown> {
  const names = Object.keys(urls.upstreams);
  const first = names[0] as string;
  const base = fullGatewayConfig(
    port,
    adminPort,
    urls.upstreams[first] as string,
    urls.identity,
    urls.redis,
    signer,
  );
  const baseAuth = base.auth as Record<string, unknown>;
  const baseLimits = base.rateLimits as Record<string, unknown>;
  return {
    ...base,
    auth: { ...baseAuth, ...signer.authKeys },
    ...(spec.limits === undefined ? {} : { limits: spec.limits }),
    upstreams: {
      ...Object.fromEntries(
        names.map((n) => [n, { url: urls.upstreams[n], timeout: 'fast', ...spec.upstreams?.[n]?.config }]),
      ),
      auth: { url: urls.identity, timeout: 'fast' },
    },
    routes: [
      {
        prefix: AUTH_PREFIX,
        upstream: 'auth',
        description: 'the identity service: sign-up and sign-in public',
        public: ['POST /register', 'POST /login', 'POST /refresh', 'POST /logout'],
      },
      { prefix: PUBLIC_PREFIX, upstream: first, description: 'public route', public: ['GET *'] },
      ...names.map((n) => ({
        prefix: `/${n}`,
        upstream: n,
        description: `authenticated route to ${n}`,
        roles: { 'GET *': ['owner', 'admin', 'member'] },
      })),
    ],
    rateLimits: {
      ...baseLimits,
      instances: spec.gateways ?? 1,
      ...(spec.tiers === undefined ? {} : { tiers: spec.tiers }),
    },
  };
}

/**
 * Starts everything; every process is pushed to `started` as soon as it runs, so the caller
 * stops them all even when a later step fails.
 */
export async function startPlatform(
  ctx: ServerContext,
  spec: PlatformSpec,
  started: Server[],
): Promise<Platform> {
  const redisBinary = findRedis();
  if (redisBinary === undefined)
    throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  const signer = createUserSigner();
  const assertionSecret = randomBytes(32).toString('base64url');
  const redis = await startRedis(ctx, redisBinary);
  started.push(redis);
  const identity = await startIdentity(ctx, redis.url, assertionSecret);
  started.push(identity);
  const upstreams: Record<string, ControlledUpstream> = {};
  for (const [name, u] of Object.entries(spec.upstreams ?? { bench: {} })) {
    upstreams[name] = await startControlledUpstream(ctx, `upstream-${name}`, u.delayMs ?? 0);
    started.push(upstreams[name]);
  }
  const urls = {
    upstreams: Object.fromEntries(Object.entries(upstreams).map(([n, u]) => [n, u.url])),
    identity: identity.url,
    redis: redis.url,
  };
  const gateways: Server[] = [];
  for (let i = 0; i < (spec.gateways ?? 1); i++) {
    const gateway = await startGateway(
      ctx,
      urls.upstreams[Object.keys(urls.upstreams)[0] as string] as string,
      signer,
      {
        name: `gateway-${i + 1}`,
        logLevel: spec.logLevel,
        assertionSecret,
        config: (port, adminPort) => loadGatewayConfig(port, adminPort, spec, urls, signer),
      },
    );
    started.push(gateway);
    gateways.push(gateway);
  }
  return {
    gateways,
    gateway: gateways[0] as Server,
    upstreams,
    identity,
    redis,
    signer,
    async registerUsers(count, concurrency = 4) {
      const users: LoadUser[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, count) }, async () => {
          while (next < count) {
            next++;
            const user = await registerUser(identity.url);
            const claims = claimsOf(user.accessToken);
            users.push({
              email: user.email,
              sub: String(claims.sub),
              tid: String(claims.tid),
              roles: ['owner'],
            });
          }
        }),
      );
      return users;
    },
  };
}

/**
 * Tokens for `users` in turn; a user's token is signed anew once it is `rotateMs` old (new jti),
 * by default after 10 minutes (they live 15), as a client refreshes its access token.
 */
export function rotatingTokens(
  signer: UserSigner,
  users: readonly LoadUser[],
  rotateMs = 600_000,
): { next(): string; signed(): number } {
  if (users.length === 0) throw new Error('rotatingTokens: no users');
  const tokens = users.map((u) => signer.signFor(u));
  const signedAt = users.map(() => Date.now());
  let signed = tokens.length;
  let i = 0;
  return {
    next() {
      const n = i++ % users.length;
      if (Date.now() - (signedAt[n] as number) >= rotateMs) {
        tokens[n] = signer.signFor(users[n] as LoadUser);
        signedAt[n] = Date.now();
        signed++;
      }
      return tokens[n] as string;
    },
    signed: () => signed,
  };
}

/** The everyday mix: one public request to three authenticated ones, on the first upstream. */
export function mixedRequests(token: () => string, upstream = 'bench'): RequestSpec[] {
  const authenticated: RequestSpec = {
    path: `/${upstream}/hello`,
    perRequest: () => ({ authorization: `Bearer ${token()}` }),
  };
  return [{ path: `${PUBLIC_PREFIX}/hello` }, authenticated, authenticated, authenticated];
}
