import type { CircuitBreaker } from './breaker.ts';
import type { Layer } from './internal-client.ts';

/** The breaker is open: no call was made. */
export class CircuitOpen extends Error {
  readonly code = 'INTERNAL_CIRCUIT_OPEN';
}

/**
 * Puts a circuit breaker in front of the call: refused at once while open; a
 * half-open probe gets the probe timeout; an error, a timeout or an answer
 * the caller judged unhealthy counts as a failure, anything else as a
 * success.
 */
export function breakerLayer(breaker: CircuitBreaker): Layer {
  return (next) =>
    async function guarded(req, interpret) {
      const permit = breaker.acquire();
      if (permit === 'no') throw new CircuitOpen(`${breaker.name} circuit open`);
      const probe = permit === 'probe';
      const timeoutMs = probe
        ? Math.min(req.timeoutMs ?? Number.POSITIVE_INFINITY, breaker.options.probeTimeoutMs)
        : req.timeoutMs;
      try {
        const verdict = await next({ ...req, timeoutMs }, interpret);
        if (verdict.healthy) breaker.success(probe);
        else breaker.failure(probe);
        return verdict;
      } catch (err) {
        breaker.failure(probe);
        throw err;
      }
    };
}
