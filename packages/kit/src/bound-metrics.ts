import type { Registry } from 'prom-client';

/**
 * Counters and histograms for a hot path. prom-client validates and hashes
 * the label values on every `inc`/`observe`, even through `labels()`; here a
 * series is bound once (`series(...)`, a bounded set the caller keeps) and
 * each observation is plain arithmetic on numbers it holds. At scrape time
 * they read as prom-client metrics (the same `get()` shape, so a registry
 * renders them and cluster mode's aggregator sums them across workers).
 */

type Labels<L extends string> = Readonly<Record<L, string>>;

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator: string;
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export interface CounterSeries {
  inc(by?: number): void;
}

class CounterCell implements CounterSeries {
  value = 0;
  readonly labels: Record<string, string>;
  constructor(labels: Record<string, string>) {
    this.labels = labels;
  }
  inc(by = 1): void {
    this.value += by;
  }
}

export class BoundCounter<L extends string> implements Family {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly #cells = new Map<string, CounterCell>();

  constructor(name: string, help: string, labelNames: readonly L[], registry: Registry | undefined) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    registry?.registerMetric(this as never);
  }

  /** The series for these label values (created at zero on first use, then the same object). */
  series(labels: Labels<L>): CounterSeries {
    const key = this.labelNames.map((n) => labels[n]).join('\u0000');
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = new CounterCell({ ...labels });
      this.#cells.set(key, cell);
    }
    return cell;
  }

  async get(): Promise<Family & { values: Sample[] }> {
    const values = [...this.#cells.values()].map((c) => ({ labels: { ...c.labels }, value: c.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const cell of this.#cells.values()) cell.value = 0;
  }
}

export interface HistogramSeries {
  observe(value: number): void;
}

class HistogramCell implements HistogramSeries {
  /** counts[i]: observations ≤ bounds[i] and > bounds[i-1]; the last slot: above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly labels: Record<string, string>;
  readonly bounds: Float64Array;
  constructor(labels: Record<string, string>, bounds: Float64Array) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (this.counts[i] as number)++;
    this.sum += value;
    this.count++;
  }
}

export class BoundHistogram<L extends string> implements Family {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: Float64Array;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly #cells = new Map<string, HistogramCell>();

  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
    registry: Registry | undefined,
  ) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.#bounds = Float64Array.from([...buckets].sort((a, b) => a - b));
    registry?.registerMetric(this as never);
  }

  series(labels: Labels<L>): HistogramSeries {
    const key = this.labelNames.map((n) => labels[n]).join('\u0000');
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = new HistogramCell({ ...labels }, this.#bounds);
      this.#cells.set(key, cell);
    }
    return cell;
  }

  async get(): Promise<Family & { values: Sample[] }> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const cell of this.#cells.values()) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += cell.counts[i] as number;
        values.push({ labels: { le, ...cell.labels }, value: cumulative, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf', ...cell.labels }, value: cell.count, metricName: bucket });
      values.push({ labels: { ...cell.labels }, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...cell.labels }, value: cell.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const cell of this.#cells.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
