import {
  BoundCounter,
  BoundHistogram,
  Counter,
  type CounterSeries,
  createMetricsRegistry,
  Gauge,
  Histogram,
  type HistogramSeries,
  type Registry,
} from '@gatehouse/kit';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** What a metric is when metrics are off: every call does nothing. */
const NOOP = {
  inc() {},
  dec() {},
  set() {},
  observe() {},
  labels: () => NOOP,
};

/**
 * The gateway's metrics. Labels are bounded: the route label is the route's
 * prefix (a template, never the raw path), never a user or tenant id.
 */
export class GatewayMetrics {
  readonly registry: Registry;
  readonly requests: BoundCounter<'method' | 'route' | 'status'>;
  readonly duration: BoundHistogram<'method' | 'route'>;
  readonly authFailures: Counter<'reason'>;
  /** Requests in progress: a plain number, read when scraped. */
  readonly inFlight = { count: 0, inc: () => {}, dec: () => {} };
  readonly downstreamRequests: BoundCounter<'service' | 'status'>;
  readonly downstreamDuration: BoundHistogram<'service'>;
  readonly retries: Counter<'service' | 'reason'>;
  readonly breakerState: Gauge<'service'>;
  readonly rateLimited: Counter<'route' | 'tier'>;
  readonly limiterDegraded: Gauge;
  readonly limiterFallbacks: Counter<'reason'>;
  readonly tierLookupErrors: Counter;
  readonly revocationEvents: Counter<'source'>;
  readonly accessDecisions: Counter<'checker' | 'result' | 'reason'>;
  readonly accessCacheLookups: BoundCounter<'result'>;
  readonly accessInvalidations: Counter<'source'>;
  readonly userLookups: BoundCounter<'result'>;
  readonly tokenVerification: BoundHistogram<'result'>;
  readonly tokenCacheLookups: BoundCounter<'result'>;
  readonly dependencyUp: Gauge<'dependency'>;
  readonly tunnelHandshakes: Counter<'route' | 'status'>;
  readonly tunnelsOpen: Gauge<'route'>;
  readonly tunnelCloses: Counter<'route' | 'reason'>;
  readonly tunnelDuration: Histogram<'route'>;
  readonly tunnelBytes: Counter<'route' | 'direction'>;

  /** Log lines the process's LineWriter dropped because its output fell behind (read when scraped). */
  #droppedLogLines: () => number = () => 0;

  constructor(enabled = true) {
    this.registry = createMetricsRegistry('gateway');
    const registers = enabled ? [this.registry] : [];
    // Off: every metric is a no-op (nothing hashed or counted), and none is registered.
    const made = <M>(metric: () => M): M => (enabled ? metric() : (NOOP as M));
    // The metrics of every request are bound series (kit's bound-metrics.ts): plain arithmetic per
    // request, no label hashing. Off, they count but are not registered (nothing is exported).
    const registry = enabled ? this.registry : undefined;
    this.requests = new BoundCounter(
      'gateway_http_requests_total',
      'Requests answered by the gateway',
      ['method', 'route', 'status'],
      registry,
    );
    this.duration = new BoundHistogram(
      'gateway_http_request_duration_seconds',
      'Time from request to response end',
      ['method', 'route'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registry,
    );
    this.authFailures = made(
      () =>
        new Counter({
          name: 'gateway_auth_failures_total',
          help: 'Requests refused by authentication, by reason',
          labelNames: ['reason'],
          registers,
        }),
    );
    const droppedLogLines = () => this.#droppedLogLines();
    made(
      () =>
        new Counter({
          name: 'gateway_log_lines_dropped_total',
          help: 'Log lines dropped because stdout was slower than the traffic (access lines of successful answers first)',
          registers,
          collect() {
            this.reset();
            this.inc(droppedLogLines());
          },
        }),
    );
    const inFlight = this.inFlight;
    if (enabled) {
      inFlight.inc = () => {
        inFlight.count++;
      };
      inFlight.dec = () => {
        inFlight.count--;
      };
      new Gauge({
        name: 'gateway_in_flight_requests',
        help: 'Requests in progress',
        registers,
        collect() {
          this.set(inFlight.count);
        },
      });
    }
    this.downstreamRequests = new BoundCounter(
      'gateway_downstream_requests_total',
      'Attempts sent to upstream services, by status (or error: timeout, ECONNREFUSED, …)',
      ['service', 'status'],
      registry,
    );
    this.downstreamDuration = new BoundHistogram(
      'gateway_downstream_request_duration_seconds',
      'Time from sending an attempt to the end of its answer',
      ['service'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registry,
    );
    this.retries = made(
      () =>
        new Counter({
          name: 'gateway_retries_total',
          help: 'Attempts retried, by the reason of the failed attempt',
          labelNames: ['service', 'reason'],
          registers,
        }),
    );
    this.breakerState = made(
      () =>
        new Gauge({
          name: 'gateway_circuit_breaker_state',
          help: 'Circuit breaker state per upstream: 0 closed, 1 open, 2 half-open',
          labelNames: ['service'],
          aggregator: 'max',
          registers,
        }),
    );
    this.rateLimited = made(
      () =>
        new Counter({
          name: 'gateway_rate_limit_exceeded_total',
          help: 'Requests refused with 429, by route and tier',
          labelNames: ['route', 'tier'],
          registers,
        }),
    );
    this.limiterDegraded = made(
      () =>
        new Gauge({
          name: 'gateway_rate_limiter_degraded',
          help: '1 while the rate limiter decides locally because Redis failed',
          aggregator: 'max',
          registers,
        }),
    );
    this.limiterFallbacks = made(
      () =>
        new Counter({
          name: 'gateway_rate_limiter_degraded_total',
          help: 'Rate-limit checks decided by the local fallback, by why Redis could not',
          labelNames: ['reason'],
          registers,
        }),
    );
    this.tierLookupErrors = made(
      () =>
        new Counter({
          name: 'gateway_rate_limit_tier_lookup_errors_total',
          help: 'Entitlement lookups that failed (the tenant kept its last known tier, or free)',
          registers,
        }),
    );
    this.revocationEvents = made(
      () =>
        new Counter({
          name: 'gateway_revocation_events_total',
          help: 'Revocation events applied, by where they came from (feed, redis)',
          labelNames: ['source'],
          registers,
        }),
    );
    this.userLookups = new BoundCounter(
      'gateway_user_lookups_total',
      'User lookups by result: hit, miss, coalesced, stale (served from cache while the identity service failed), unavailable',
      ['result'],
      registry,
    );
    this.accessDecisions = made(
      () =>
        new Counter({
          name: 'gateway_access_decisions_total',
          help: 'Resource access decisions, by checker, result (allowed, denied) and reason (allowed, denied, timeout, error, bad_answer, circuit_open)',
          labelNames: ['checker', 'result', 'reason'],
          registers,
        }),
    );
    this.accessCacheLookups = new BoundCounter(
      'gateway_access_cache_lookups_total',
      'Access decision cache lookups, by result (hit, miss)',
      ['result'],
      registry,
    );
    this.tokenVerification = new BoundHistogram(
      'gateway_token_verification_duration_seconds',
      'Signature and claims checks of tokens not in the verified-token cache, by result (valid, invalid)',
      ['result'],
      [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5],
      registry,
    );
    this.tokenCacheLookups = new BoundCounter(
      'gateway_token_cache_lookups_total',
      'Verified-token cache lookups, by result (hit, miss)',
      ['result'],
      registry,
    );
    const dependencies = () => this.#dependencies;
    this.dependencyUp = made(
      () =>
        new Gauge({
          name: 'gateway_dependency_up',
          help: 'Whether a dependency answers (1) or not (0): identity (the revocation feed), redis (rate limits)',
          labelNames: ['dependency'],
          aggregator: 'min',
          registers,
          // Read when scraped, so the value is never older than the scrape.
          collect() {
            for (const [dependency, up] of dependencies()) this.set({ dependency }, up() ? 1 : 0);
          },
        }),
    );
    this.tunnelHandshakes = made(
      () =>
        new Counter({
          name: 'gateway_websocket_handshakes_total',
          help: 'WebSocket upgrade requests by route and the status the client got (101: tunnel opened)',
          labelNames: ['route', 'status'],
          registers,
        }),
    );
    this.tunnelsOpen = made(
      () =>
        new Gauge({
          name: 'gateway_websocket_connections',
          help: 'Open WebSocket tunnels by route',
          labelNames: ['route'],
          registers,
        }),
    );
    this.tunnelCloses = made(
      () =>
        new Counter({
          name: 'gateway_websocket_closes_total',
          help: 'WebSocket tunnels ended, by route and reason (client, upstream, expiry, revocation, idle, lifetime, drain, error)',
          labelNames: ['route', 'reason'],
          registers,
        }),
    );
    this.tunnelDuration = made(
      () =>
        new Histogram({
          name: 'gateway_websocket_duration_seconds',
          help: 'How long WebSocket tunnels stayed open',
          labelNames: ['route'],
          buckets: [1, 10, 30, 60, 300, 600, 900, 1800, 3600, 14_400, 86_400],
          registers,
        }),
    );
    this.tunnelBytes = made(
      () =>
        new Counter({
          name: 'gateway_websocket_bytes_total',
          help: 'Bytes through WebSocket tunnels, counted when a tunnel ends: in (from clients), out (to clients)',
          labelNames: ['route', 'direction'],
          registers,
        }),
    );
    this.accessInvalidations = made(
      () =>
        new Counter({
          name: 'gateway_access_invalidations_total',
          help: 'Access decision invalidations applied, by source (local, redis, resubscribe)',
          labelNames: ['source'],
          registers,
        }),
    );
  }

  #dependencies: ReadonlyArray<readonly [string, () => boolean]> = [];

  /** Where `gateway_log_lines_dropped_total` reads its count (the logger's LineWriter). */
  watchLogDrops(dropped: () => number): void {
    this.#droppedLogLines = dropped;
  }

  /** The dependencies `gateway_dependency_up` reports, each with how to tell whether it is up. */
  watchDependencies(dependencies: ReadonlyArray<readonly [string, () => boolean]>): void {
    this.#dependencies = dependencies;
  }

  readonly #downstream = new Map<string, { count: CounterSeries; time: HistogramSeries }>();

  /** One attempt sent upstream: its outcome (a status or an error code) and how long it took. */
  downstream(service: string, status: string, seconds: number): void {
    const key = `${service} ${status}`;
    let series = this.#downstream.get(key);
    if (series === undefined) {
      series = {
        count: this.downstreamRequests.series({ service, status }),
        time: this.downstreamDuration.series({ service }),
      };
      this.#downstream.set(key, series);
    }
    series.count.inc();
    series.time.observe(seconds);
  }

  // The series of each (method, route, status) are bound once and kept (a bounded set: methods ×
  // route prefixes × statuses), so a request costs a map lookup and arithmetic.
  readonly #children = new Map<string, { count: CounterSeries; time: HistogramSeries }>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const m = KNOWN_METHODS.has(method) ? method : 'OTHER';
    const key = `${m} ${status} ${route}`;
    let child = this.#children.get(key);
    if (child === undefined) {
      child = {
        count: this.requests.series({ method: m, route, status: String(status) }),
        time: this.duration.series({ method: m, route }),
      };
      this.#children.set(key, child);
    }
    child.count.inc();
    child.time.observe(seconds);
  }
}
