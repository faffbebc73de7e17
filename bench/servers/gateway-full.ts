import { randomBytes } from 'node:crypto';
import { AUDIENCE, ISSUER, type TokenSigner } from '../lib/tokens.ts';
import { gatewayConfig, startGateway } from './gateway.ts';
import { type BenchUser, registerUser, startIdentity } from './identity.ts';
import { startRedis } from './redis.ts';
import type { Server, ServerContext } from './server.ts';

/**
 * The gateway with the full pipeline of issue 4, against real dependencies:
 * keys from the identity service's JWKS, revocation feed over Redis pub/sub,
 * user lookups (cached), and the rate limiter in Redis (one script round trip
 * per request, with limits the bench never reaches). Same listener, limits,
 * upstream and access log as the foundation gateway; the route is `/bench`
 * with role rules, as a production route would be.
 */
export function fullGatewayConfig(
  port: number,
  adminPort: number,
  upstreamUrl: string,
  identityUrl: string,
  redisUrl: string,
  signer: TokenSigner,
): Record<string, unknown> {
  const base = gatewayConfig(port, adminPort, upstreamUrl, signer);
  return {
    ...base,
    auth: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: `${identityUrl}/.well-known/jwks.json` },
    identity: { url: identityUrl, redisUrl },
    routes: [
      {
        prefix: '/bench',
        upstream: 'bench',
        description: 'bench route: every request authenticated, authorised by role, limited in Redis',
        roles: { 'GET *': ['owner', 'admin', 'member'], 'DELETE *': ['admin'] },
      },
    ],
    rateLimits: { ...base.rateLimits, redisUrl, instances: 1 },
  };
}

export interface FullPipeline {
  readonly gateway: Server;
  /** Redis and the identity service: their CPU is reported beside the gateway's. */
  readonly helpers: Server[];
  readonly user: BenchUser;
}

/**
 * Starts Redis, the identity service and the gateway, registers one user. Every server started is
 * pushed to `started` as soon as it runs, so the caller stops them even when a later step fails.
 */
export async function startFullPipeline(
  ctx: ServerContext,
  upstreamUrl: string,
  signer: TokenSigner,
  redisBinary: string,
  logLevel: string,
  started: Server[],
  /** Extra node flags for the gateway, e.g. `--cpu-prof`. */
  nodeFlags: readonly string[] = [],
): Promise<FullPipeline> {
  const assertionSecret = randomBytes(32).toString('base64url');
  const redis = await startRedis(ctx, redisBinary);
  started.push(redis);
  const identity = await startIdentity(ctx, redis.url, assertionSecret);
  started.push(identity);
  const user = await registerUser(identity.url);
  const gateway = await startGateway(ctx, upstreamUrl, signer, {
    name: 'gateway-full',
    nodeFlags,
    logLevel,
    assertionSecret,
    config: (port, adminPort) =>
      fullGatewayConfig(port, adminPort, upstreamUrl, identity.url, redis.url, signer),
  });
  started.push(gateway);
  return { gateway, helpers: [redis, identity], user };
}
