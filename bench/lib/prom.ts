/**
 * The gateway's admin /metrics (Prometheus text format), read by the load
 * scenarios: the breaker state per upstream, user-lookup results, memory and
 * event-loop lag.
 */
export interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

export class Metrics {
  readonly series: readonly Series[];
  constructor(series: readonly Series[]) {
    this.series = series;
  }

  /** The sum of every series of `name` whose labels include `labels` (0 when none). */
  sum(name: string, labels: Record<string, string> = {}): number {
    let total = 0;
    for (const s of this.series) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
    return total;
  }

  /** The value of the first series of `name` with these labels, or undefined. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.series.find(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )?.value;
  }
}

export async function scrapeMetrics(adminUrl: string): Promise<Metrics> {
  const res = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${adminUrl}/metrics answered ${res.status}`);
  return new Metrics(parseMetrics(text));
}
