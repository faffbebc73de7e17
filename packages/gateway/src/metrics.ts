import { Counter, createMetricsRegistry, Gauge, Histogram, type Registry } from '@gatehouse/kit';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The gateway's metrics. Labels are bounded: the route label is the route's
 * prefix (a template, never the raw path), never a user or tenant id.
 */
export class GatewayMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  readonly authFailures: Counter<'reason'>;
  readonly inFlight: Gauge;

  constructor() {
    this.registry = createMetricsRegistry('gateway');
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'gateway_http_requests_total',
      help: 'Requests answered by the gateway',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'Time from request to response end',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.authFailures = new Counter({
      name: 'gateway_auth_failures_total',
      help: 'Requests refused by authentication, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'gateway_in_flight_requests',
      help: 'Requests in progress',
      registers,
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const m = KNOWN_METHODS.has(method) ? method : 'OTHER';
    this.requests.inc({ method: m, route, status: String(status) });
    this.duration.observe({ method: m, route }, seconds);
  }
}
