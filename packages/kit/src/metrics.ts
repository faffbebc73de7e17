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
  new Gauge({
    name: 'gatehouse_service_info',
    help: 'Which Gatehouse service this process is (always 1)',
    labelNames: ['service', 'node_version'],
    aggregator: 'first',
    registers: [registry],
  }).set({ service, node_version: process.version }, 1);
  return registry;
}
