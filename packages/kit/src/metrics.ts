import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * A metrics registry for one process, with the default process metrics and a
 * `gatehouse_service_info{service}` gauge that names the process. No default
 * label is added to every series: Prometheus labels each target with its job
 * and instance, and `service` stays free for metrics about other services
 * (the gateway's upstreams).
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total break the exposition conventions (promtool check metrics says so); the
  // same counts are there by type (nodejs_active_handles{type} …), so the totals go.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    registry.removeSingleMetric(name);
  }
  new Gauge({
    name: 'gatehouse_service_info',
    help: 'Which Gatehouse service this process is (always 1)',
    labelNames: ['service', 'node_version'],
    aggregator: 'first',
    registers: [registry],
  }).set({ service, node_version: process.version }, 1);
  new Gauge({
    name: 'gatehouse_memory_limit_bytes',
    help: 'Memory this process may use: the cgroup limit (a container), else the machine total. Compare with process_resident_memory_bytes',
    aggregator: 'first',
    registers: [registry],
  }).set(memoryLimitBytes());
  return registry;
}

/** cgroup v2's memory.max (v1's limit_in_bytes) when it sets a limit, else the machine's memory. */
export function memoryLimitBytes(
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
  machine = totalmem(),
): number {
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    let text: string;
    try {
      text = read(path).trim();
    } catch {
      continue;
    }
    const bytes = Number(text);
    // "max", or v1's "no limit" (a huge page-aligned number): the machine's memory is the limit.
    if (Number.isSafeInteger(bytes) && bytes > 0 && bytes < machine) return bytes;
  }
  return machine;
}
