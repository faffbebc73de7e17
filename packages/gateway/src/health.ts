import type { Readiness } from '@gatehouse/kit';
import type { AccessChecks } from './access/access-checks.ts';
import type { UserDirectory } from './identity/user-directory.ts';
import type { TokenVerifier } from './identity/verifier.ts';
import type { RateLimiting } from './ratelimit/index.ts';
import type { RevocationFeed } from './revocation/feed.ts';
import type { RevocationList } from './revocation/list.ts';
import type { Upstreams } from './upstream/upstreams.ts';

export interface HealthSources {
  readonly readiness: Readiness;
  readonly configHash: string;
  readonly verifier: TokenVerifier;
  readonly rateLimiting: RateLimiting;
  readonly feed: RevocationFeed | undefined;
  readonly revocations: RevocationList;
  readonly access: AccessChecks;
  readonly users: UserDirectory | undefined;
  readonly upstreams: Upstreams;
  /** Open WebSocket tunnels and their caps. */
  readonly tunnels: () => unknown;
}

/**
 * The detailed health document on the admin listener's /health: what /ready
 * decides from, and the state behind it (keys, limiter, revocations, breakers,
 * caches, tunnels), for an operator, never for the public listener.
 */
export function createHealthDocument(sources: HealthSources): () => Promise<unknown> {
  const { readiness, verifier, rateLimiting, feed, revocations, access, users, upstreams } = sources;
  return async function health() {
    return {
      status: (await readiness.evaluate()).status,
      configHash: sources.configHash,
      tokens: verifier.status(),
      rateLimiter: rateLimiting.status(),
      revocations: feed?.status() ?? { off: 'no identity service configured', entries: revocations.size },
      access: access.status(),
      userLookups: users === undefined ? { off: true } : { cached: users.size, breaker: users.breaker.state },
      upstreams: [...upstreams.all()].map(({ config: u, guard }) => ({
        name: u.name,
        url: `${u.origin}${u.basePath}`,
        timeoutMs: u.timeoutMs,
        breaker: guard.breaker.state,
        inFlight: guard.inFlight,
        maxConcurrent: guard.maxConcurrent,
      })),
      websockets: sources.tunnels(),
      process: { uptimeSeconds: Math.round(process.uptime()), memory: process.memoryUsage() },
    };
  };
}
