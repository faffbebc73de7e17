import { Pool } from 'undici';
import type { BreakerOptions, BreakerState } from '../resilience/breaker.ts';
import { breakerOptions } from '../resilience/breaker-options.ts';
import type { CompiledUpstream } from '../routing/route-table.ts';
import { BREAKER_DEFAULTS, UpstreamGuard } from './guard.ts';

export interface Upstream {
  readonly config: CompiledUpstream;
  readonly pool: Pool;
  readonly guard: UpstreamGuard;
}

/**
 * Every declared upstream with its keep-alive pool and its guard (breaker,
 * concurrency cap, retry budget), built once at start: there is no way to
 * reach an upstream without them.
 */
export class Upstreams {
  readonly #upstreams = new Map<string, Upstream>();

  constructor(
    upstreams: Iterable<CompiledUpstream>,
    onBreakerChange?: (name: string, state: BreakerState, previous: BreakerState) => void,
  ) {
    for (const upstream of upstreams) {
      const pool = new Pool(upstream.origin, {
        connections: upstream.connections,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
        connect: { timeout: Math.min(upstream.timeoutMs, 5_000) },
      });
      const retries = upstream.config.retries;
      const guard = new UpstreamGuard(
        upstream.name,
        upstreamBreakerOptions(upstream),
        upstream.config.maxConcurrent,
        {
          attempts: retries.attempts,
          backoffMs: retries.backoffMs,
          maxBackoffMs: retries.maxBackoffMs,
          budget: retries.budgetPercent / 100,
        },
        onBreakerChange,
      );
      this.#upstreams.set(upstream.name, { config: upstream, pool, guard });
    }
  }

  get(name: string): Upstream {
    const upstream = this.#upstreams.get(name);
    if (upstream === undefined) throw new Error(`no upstream ${name}`);
    return upstream;
  }

  all(): IterableIterator<Upstream> {
    return this.#upstreams.values();
  }

  /**
   * Called once the listeners have drained, when no client waits for any
   * upstream answer: whatever is still open upstream is orphaned, so the pools
   * are destroyed rather than waited for.
   */
  async close(): Promise<void> {
    await Promise.all([...this.#upstreams.values()].map((u) => u.pool.destroy()));
  }
}

/** The upstream's breaker settings over the defaults of its timeout class. */
export function upstreamBreakerOptions(upstream: CompiledUpstream): BreakerOptions {
  const defaults = BREAKER_DEFAULTS[upstream.timeoutClass ?? classFor(upstream.timeoutMs)];
  return breakerOptions(upstream.config.breaker, defaults, upstream.timeoutMs);
}

function classFor(timeoutMs: number): keyof typeof BREAKER_DEFAULTS {
  if (timeoutMs <= 5_000) return 'fast';
  if (timeoutMs <= 10_000) return 'standard';
  if (timeoutMs <= 60_000) return 'slow';
  return 'batch';
}
