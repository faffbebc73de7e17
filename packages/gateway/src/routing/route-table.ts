import {
  type GatewayConfig,
  type RouteConfig,
  TIMEOUT_CLASSES,
  type TimeoutClass,
  type UpstreamConfig,
} from '../config/schema.ts';

/**
 * Routes compiled once from config: prefix match on whole segments (longest
 * prefix wins), then per-route rules. Deny by default: no route is a 404, and
 * a route is authenticated unless the path is listed as public.
 */

export interface Rule {
  readonly source: string;
  /** null: every method. */
  readonly methods: ReadonlySet<string> | null;
  /** null: every path of the route. `*` and `:name` match one segment, `**` the rest. */
  readonly segments: readonly string[] | null;
}

export interface RoleRule extends Rule {
  readonly roles: readonly string[];
}

export interface CompiledUpstream {
  readonly name: string;
  readonly timeoutClass: TimeoutClass | undefined;
  readonly config: UpstreamConfig;
  readonly origin: string;
  /** The URL's path without a trailing slash ('' for none). */
  readonly basePath: string;
  readonly timeoutMs: number;
  readonly connections: number;
  readonly forwardAuthorization: boolean;
}

export interface CompiledRoute {
  /** The route's label in logs and metrics: its prefix (a template, never a raw path). */
  readonly id: string;
  readonly prefix: string;
  readonly upstream: CompiledUpstream;
  readonly publicRules: readonly Rule[];
  readonly roleRules: readonly RoleRule[];
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly stripPrefix: boolean;
  readonly description: string | undefined;
  readonly rateLimit: RouteConfig['rateLimit'];
  /** Prefixes carved out of this route (a path under one is not this route's). */
  readonly except: readonly string[];
  /** Headers on this route's answers (over the gateway-wide security headers). */
  readonly headers: Readonly<Record<string, string>>;
  /** Longest silence allowed in a streamed answer's body (server-sent events); the timeout otherwise. */
  readonly streamTimeoutMs: number;
  /** Set when the route accepts WebSocket upgrades; undefined: every upgrade is refused. */
  readonly websocket: WebsocketPolicy | undefined;
}

export interface WebsocketPolicy {
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
}

export function timeoutMs(value: UpstreamConfig['timeout']): number {
  return typeof value === 'number' ? value : TIMEOUT_CLASSES[value];
}

export function compileUpstream(name: string, config: UpstreamConfig): CompiledUpstream {
  const url = new URL(config.url);
  return {
    name,
    timeoutClass: typeof config.timeout === 'string' ? config.timeout : undefined,
    config,
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    timeoutMs: timeoutMs(config.timeout),
    connections: config.connections,
    forwardAuthorization: config.forwardAuthorization,
  };
}

export function parseRule(source: string): Rule {
  const [methodPart, pathPart] = source.trim().split(/\s+/) as [string, string];
  const methods = methodPart === '*' ? null : new Set(methodPart.split(','));
  const segments = pathPart === '*' ? null : pathPart.split('/').filter((s) => s !== '');
  return { source, methods, segments };
}

export function ruleMatches(rule: Rule, method: string, segments: readonly string[]): boolean {
  if (rule.methods !== null) {
    // HEAD is answered like GET by every upstream, so a GET rule covers it.
    if (!rule.methods.has(method) && !(method === 'HEAD' && rule.methods.has('GET'))) return false;
  }
  const pattern = rule.segments;
  if (pattern === null) return true;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p === '**') return true;
    const s = segments[i];
    if (s === undefined) return false;
    if (p !== '*' && p.charCodeAt(0) !== 0x3a && p !== s) return false;
  }
  return pattern.length === segments.length;
}

export class RouteTable {
  readonly routes: readonly CompiledRoute[];
  readonly upstreams: ReadonlyMap<string, CompiledUpstream>;
  /** The largest body any route accepts. */
  readonly largestBodyBytes: number;
  /**
   * The gateway's own endpoint that mints WebSocket tickets: matched before every configured
   * route, never public, answered by the gateway (its upstream is the gateway itself).
   */
  readonly ticketRoute: CompiledRoute;
  readonly #byLength: readonly CompiledRoute[];

  constructor(config: GatewayConfig) {
    const upstreams = new Map<string, CompiledUpstream>();
    for (const [name, upstream] of Object.entries(config.upstreams))
      upstreams.set(name, compileUpstream(name, upstream));
    this.upstreams = upstreams;
    this.routes = config.routes.map((route) => compileRoute(route, upstreams, config));
    this.largestBodyBytes = Math.max(config.limits.maxBodyBytes, ...this.routes.map((r) => r.maxBodyBytes));
    this.ticketRoute = ticketRoute(config);
    // Longest prefix first, so `/api/venues/admin` wins over `/api/venues`.
    this.#byLength = [...this.routes].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The route whose prefix matches `path` on whole segments, or undefined. */
  match(path: string): CompiledRoute | undefined {
    if (path === this.ticketRoute.prefix) return this.ticketRoute;
    for (const route of this.#byLength) {
      if (!underPrefix(path, route.prefix)) continue;
      if (route.except.length > 0 && route.except.some((p) => underPrefix(path, p))) continue;
      return route;
    }
    return undefined;
  }
}

/** `path` is `prefix` or below it, on whole segments. */
function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return (
    path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f)
  );
}

function compileRoute(
  route: RouteConfig,
  upstreams: ReadonlyMap<string, CompiledUpstream>,
  config: GatewayConfig,
): CompiledRoute {
  const upstream = upstreams.get(route.upstream) as CompiledUpstream;
  const ws = route.websocket;
  const defaults = config.websockets;
  const websocket =
    ws === false
      ? undefined
      : {
          idleTimeoutMs:
            ((ws === true ? undefined : ws.idleTimeoutSeconds) ?? defaults.idleTimeoutSeconds) * 1000,
          maxLifetimeMs:
            ((ws === true ? undefined : ws.maxLifetimeSeconds) ?? defaults.maxLifetimeSeconds) * 1000,
        };
  const routeTimeoutMs = route.timeout === undefined ? upstream.timeoutMs : timeoutMs(route.timeout);
  return {
    id: route.prefix,
    prefix: route.prefix,
    upstream,
    publicRules: route.public.map(parseRule),
    roleRules: Object.entries(route.roles).map(([source, roles]) => ({ ...parseRule(source), roles })),
    timeoutMs: routeTimeoutMs,
    maxBodyBytes: route.maxBodyBytes ?? config.limits.maxBodyBytes,
    stripPrefix: route.stripPrefix,
    description: route.description,
    rateLimit: route.rateLimit,
    streamTimeoutMs: route.streamTimeout === undefined ? routeTimeoutMs : timeoutMs(route.streamTimeout),
    websocket,
    except: route.except,
    headers: Object.fromEntries(Object.entries(route.headers).map(([n, v]) => [n.toLowerCase(), v])),
  };
}

function ticketRoute(config: GatewayConfig): CompiledRoute {
  const prefix = config.websockets.tickets.path;
  const timeout = TIMEOUT_CLASSES.fast;
  return {
    id: prefix,
    prefix,
    upstream: {
      name: 'gateway',
      timeoutClass: 'fast',
      config: { url: 'http://gateway.invalid' } as UpstreamConfig,
      origin: 'http://gateway.invalid',
      basePath: '',
      timeoutMs: timeout,
      connections: 0,
      forwardAuthorization: false,
    },
    publicRules: [],
    roleRules: [],
    timeoutMs: timeout,
    maxBodyBytes: 0,
    stripPrefix: false,
    description: 'Mints a single-use WebSocket connection ticket (the gateway answers)',
    rateLimit: undefined,
    streamTimeoutMs: timeout,
    websocket: undefined,
    except: [],
    headers: {},
  };
}

/** The path segments after the route's prefix. */
export function relativeSegments(route: CompiledRoute, path: string): string[] {
  const rest = route.prefix === '/' ? path : path.slice(route.prefix.length);
  return rest.split('/').filter((s) => s !== '');
}
