/**
 * Latency histogram with microsecond resolution below 10 ms and 100 µs above,
 * up to 10 s. autocannon's own histogram counts whole milliseconds, which
 * cannot tell a 0.4 ms p50 from a 0.9 ms one on loopback.
 */
const FINE_US = 10_000;
const COARSE_STEP_US = 100;
const MAX_US = 10_000_000;
const BUCKETS = FINE_US + (MAX_US - FINE_US) / COARSE_STEP_US + 1;

export class LatencyHistogram {
  readonly #counts = new Uint32Array(BUCKETS);
  count = 0;

  record(ms: number): void {
    const us = Math.round(ms * 1000);
    const bucket =
      us < FINE_US ? us : Math.min(BUCKETS - 1, FINE_US + Math.floor((us - FINE_US) / COARSE_STEP_US));
    this.#counts[bucket] = (this.#counts[bucket] ?? 0) + 1;
    this.count++;
  }

  /** A copy of the bucket counts, to hand to another thread (which adds them with `merge`). */
  snapshot(): Uint32Array {
    return this.#counts.slice();
  }

  /** Adds the counts of another histogram (a `snapshot`, e.g. from a worker thread). */
  merge(counts: Uint32Array): void {
    if (counts.length !== BUCKETS)
      throw new Error(`histogram merge: ${counts.length} buckets, not ${BUCKETS}`);
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      const n = counts[bucket] as number;
      if (n === 0) continue;
      this.#counts[bucket] = (this.#counts[bucket] as number) + n;
      this.count += n;
    }
  }

  /** The latency (ms) at percentile p (0–100), or NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.#counts[bucket] ?? 0;
      if (seen >= rank) {
        const us = bucket < FINE_US ? bucket : FINE_US + (bucket - FINE_US) * COARSE_STEP_US;
        return us / 1000;
      }
    }
    return MAX_US / 1000;
  }
}
