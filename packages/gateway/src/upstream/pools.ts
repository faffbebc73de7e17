import { Pool } from 'undici';
import type { CompiledUpstream } from '../routing/route-table.ts';

/**
 * One undici pool per upstream, with keep-alive connections. Built for every
 * declared upstream at start, so no upstream can be reached any other way.
 */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  constructor(upstreams: Iterable<CompiledUpstream>) {
    for (const upstream of upstreams) {
      this.#pools.set(
        upstream.name,
        new Pool(upstream.origin, {
          connections: upstream.connections,
          pipelining: 1,
          keepAliveTimeout: 4_000,
          keepAliveMaxTimeout: 60_000,
          connect: { timeout: Math.min(upstream.timeoutMs, 5_000) },
        }),
      );
    }
  }

  get(name: string): Pool {
    const pool = this.#pools.get(name);
    if (pool === undefined) throw new Error(`no pool for upstream ${name}`);
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }
}
