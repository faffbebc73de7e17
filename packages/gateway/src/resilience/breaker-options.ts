import type { BreakerOptions } from './breaker.ts';

/** Breaker thresholds as configured (seconds, percent); anything left out takes the caller's default. */
export interface BreakerSettings {
  readonly windowSeconds?: number | undefined;
  readonly minimumRequests?: number | undefined;
  readonly failureRatePercent?: number | undefined;
  readonly openSeconds?: number | undefined;
  readonly halfOpenProbes?: number | undefined;
  readonly probeTimeoutMs?: number | undefined;
}

export type BreakerDefaults = Omit<BreakerOptions, 'buckets'>;

/**
 * The one way breaker options are built, for upstreams, the identity service
 * and access checkers alike: settings over defaults, ten buckets, and a probe
 * never allowed longer than the call's own timeout.
 */
export function breakerOptions(
  settings: BreakerSettings,
  defaults: BreakerDefaults,
  timeoutMs: number,
): BreakerOptions {
  return {
    windowMs: (settings.windowSeconds ?? defaults.windowMs / 1000) * 1000,
    buckets: 10,
    minimumRequests: settings.minimumRequests ?? defaults.minimumRequests,
    failureRate: (settings.failureRatePercent ?? defaults.failureRate * 100) / 100,
    openMs: (settings.openSeconds ?? defaults.openMs / 1000) * 1000,
    halfOpenProbes: settings.halfOpenProbes ?? defaults.halfOpenProbes,
    probeTimeoutMs: Math.min(settings.probeTimeoutMs ?? defaults.probeTimeoutMs, timeoutMs),
  };
}
