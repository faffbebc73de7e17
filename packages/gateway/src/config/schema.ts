import { secretString } from '@gatehouse/kit';
import { z } from 'zod';
import { accessChecksSchema, accessSettingsSchema } from '../access/schema.ts';
import { rateLimitsSchema, routeRateLimitSchema } from '../ratelimit/config.ts';

/**
 * The gateway's config file, validated once at start. Unknown keys are refused
 * everywhere (`strictObject`), so a typo is an error, not a silently ignored
 * setting. Secrets come from `{ env: NAME }` references, resolved before this
 * schema runs.
 */

export const TIMEOUT_CLASSES = { fast: 5_000, standard: 10_000, slow: 60_000, batch: 120_000 } as const;
export type TimeoutClass = keyof typeof TIMEOUT_CLASSES;

const port = z.coerce.number().int().min(0).max(65_535);
const host = z.string().min(1);

const timeout = z.union([
  z.enum(Object.keys(TIMEOUT_CLASSES) as [TimeoutClass, ...TimeoutClass[]]),
  z.number().int().min(100).max(600_000),
]);

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** `METHOD /path`, `METHOD,METHOD /path`, `* /path` or `METHOD *` (every path of the route). */
const RULE = /^(\*|[A-Z]+(?:,[A-Z]+)*)\s+(\*|\/[^\s]*)$/;
const ruleKey = z
  .string()
  .regex(RULE, 'must be "METHOD /path", "METHOD,METHOD /path", "* /path" or "METHOD *"')
  .refine(
    (rule) => {
      const methods = rule.split(/\s+/)[0] as string;
      return methods === '*' || methods.split(',').every((m) => (METHODS as readonly string[]).includes(m));
    },
    { error: `methods must be among ${METHODS.join(', ')}` },
  );

const roleName = z.string().regex(/^[a-z][a-z0-9:_-]{0,63}$/, 'role names are lower-case identifiers');

const jwk = z.looseObject({
  kty: z.enum(['OKP', 'EC', 'RSA']),
  kid: z.string().min(1),
  alg: z.string().optional(),
  use: z.string().optional(),
});

const cidr = z
  .string()
  .refine((value) => parseCidr(value) !== undefined, { error: 'must be an IP address or CIDR' });

export function parseCidr(
  value: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address, prefixText] = value.split('/');
  if (address === undefined) return undefined;
  const family = /^\d{1,3}(\.\d{1,3}){3}$/.test(address)
    ? 'ipv4'
    : address.includes(':')
      ? 'ipv6'
      : undefined;
  if (family === undefined) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  if (family === 'ipv4' && address.split('.').some((octet) => Number(octet) > 255)) return undefined;
  return { address, prefix, family };
}

/** Breaker thresholds; anything left out takes the default of the upstream's timeout class. */
const breakerSchema = z.strictObject({
  windowSeconds: z.number().int().min(1).max(600).optional(),
  minimumRequests: z.number().int().min(1).max(100_000).optional(),
  failureRatePercent: z.number().min(1).max(100).optional(),
  openSeconds: z.number().int().min(1).max(3_600).optional(),
  halfOpenProbes: z.number().int().min(1).max(100).optional(),
  probeTimeoutMs: z.number().int().min(100).max(600_000).optional(),
});

const retrySchema = z.strictObject({
  /** Extra attempts after the first (0 turns retries off). */
  attempts: z.number().int().min(0).max(5).default(2),
  backoffMs: z.number().int().min(1).max(10_000).default(25),
  maxBackoffMs: z.number().int().min(1).max(60_000).default(500),
  /** Retries may add at most this much load on a failing upstream. */
  budgetPercent: z.number().min(0).max(100).default(20),
});

export const upstreamSchema = z.strictObject({
  url: httpUrl.refine((u) => !/^https?:\/\/[^/]*@/.test(u), {
    error: 'must not carry credentials (they would end up in logs); services trust the signed assertion',
  }),
  timeout: timeout.default('standard'),
  /** Keep-alive connections to this upstream, per gateway process. */
  connections: z.number().int().min(1).max(4096).default(128),
  /** Requests in flight to this upstream at most (queued ones included); more answer 503 at once. */
  maxConcurrent: z.number().int().min(1).max(100_000).default(1_024),
  breaker: breakerSchema.prefault({}),
  retries: retrySchema.prefault({}),
  /** Forward the client's Authorization header (off: services get the signed assertion instead). */
  forwardAuthorization: z.boolean().default(false),
});

const routePrefix = z
  .string()
  .regex(
    /^\/([A-Za-z0-9._~!$&'()*+,=:@-]+(\/[A-Za-z0-9._~!$&'()*+,=:@-]+)*)?$/,
    'must be a path like /api/venues',
  )
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), { error: 'no dot segments' });

/** A header name (RFC 9110 token) and a value without line breaks. */
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name');
const headerValue = z.string().regex(/^[^\r\n\0]*$/, 'must not contain line breaks');

export const routeSchema = z
  .strictObject({
    prefix: routePrefix,
    /**
     * Prefixes carved out of this route: a path under one of them that no
     * longer route matches is a 404, not this route's. The web app's `/` route
     * excepts `/api`, so an unknown API path never gets the app's HTML.
     */
    except: z.array(routePrefix).default([]),
    /**
     * Headers on this route's answers, over the gateway-wide `securityHeaders`
     * (the web app's Content-Security-Policy). As with those, an upstream's
     * own value wins on proxied answers.
     */
    headers: z.record(headerName, headerValue).default({}),
    upstream: z.string().min(1),
    /** Paths (relative to the prefix) open without a token. Everything else needs a valid token. */
    public: z.array(ruleKey).default([]),
    /** Role rules: every rule that matches a request must be satisfied by one of its roles. */
    roles: z.record(ruleKey, z.array(roleName).min(1)).default({}),
    timeout: timeout.optional(),
    maxBodyBytes: z
      .number()
      .int()
      .min(0)
      .max(1024 * 1024 * 1024)
      .optional(),
    /** Remove the prefix before forwarding (`/api/venues/1` → `/1`). Off by default. */
    stripPrefix: z.boolean().default(false),
    /** A stricter limit for this route (sign-in, sign-up, password reset), on top of the tier's. */
    rateLimit: routeRateLimitSchema.optional(),
    /** Resource access checks: every check whose rule matches a request must allow it (docs/access-checks.md). */
    access: accessChecksSchema,
    description: z.string().optional(),
    /**
     * Accept WebSocket upgrades on this route (off: an upgrade is refused, never tunnelled).
     * `true` takes the idle timeout and maximum lifetime from `websockets`; an object sets its own.
     */
    websocket: z
      .union([
        z.boolean(),
        z.strictObject({
          idleTimeoutSeconds: z.number().int().min(1).max(86_400).optional(),
          maxLifetimeSeconds: z
            .number()
            .int()
            .min(1)
            .max(7 * 86_400)
            .optional(),
        }),
      ])
      .default(false),
    /**
     * How long a streamed answer (server-sent events, a long download) may go without a byte once
     * its headers arrived. Default: the route's timeout. The route's timeout still bounds the wait
     * for the headers.
     */
    streamTimeout: timeout.optional(),
  })
  .refine(
    (route) =>
      route.except.every(
        (p) => p !== route.prefix && (route.prefix === '/' || p.startsWith(`${route.prefix}/`)),
      ),
    { error: 'each entry of except must be a longer prefix under the route prefix', path: ['except'] },
  );

export const websocketsSchema = z
  .strictObject({
    /** Open tunnels on one gateway process at most (each is two sockets and their buffers). */
    maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Open tunnels per user on one gateway process. */
    maxPerUser: z.number().int().min(1).max(10_000).default(16),
    /** Open tunnels per tenant on one gateway process, by the tenant's tier (the rate limiter's). */
    maxPerTenant: z
      .strictObject({
        free: z.number().int().min(1).max(1_000_000).default(100),
        standard: z.number().int().min(1).max(1_000_000).default(1_000),
        premium: z.number().int().min(1).max(1_000_000).default(10_000),
      })
      .prefault({}),
    /** A tunnel with no byte either way for this long is closed (longer than the services' 30 s ping). */
    idleTimeoutSeconds: z.number().int().min(5).max(86_400).default(120),
    /** No tunnel lives longer than this, whatever its token says (tokens live ≤ 15 min anyway). */
    maxLifetimeSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 86_400)
      .default(3_600),
    /** On SIGTERM, open tunnels may finish for this long before they are closed (below limits.shutdownDeadlineMs). */
    drainDeadlineMs: z.number().int().min(0).max(600_000).default(10_000),
    /** Single-use connection tickets for browsers (docs/authentication.md). */
    tickets: z
      .strictObject({
        /** The gateway's own endpoint that mints a ticket (POST, with a valid access token). */
        path: z
          .string()
          .regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, 'must be a path like /api/ws-ticket')
          .default('/api/ws-ticket'),
        ttlSeconds: z.number().int().min(1).max(30).default(30),
      })
      .prefault({}),
  })
  .prefault({});

export const gatewayConfigSchema = z.strictObject({
  listen: z.strictObject({ host: host.default('127.0.0.1'), port: port.default(8080) }).prefault({}),
  admin: z.strictObject({ host: host.default('127.0.0.1'), port: port.default(9080) }).prefault({}),
  limits: z
    .strictObject({
      maxUrlBytes: z.number().int().min(256).max(65_536).default(8_192),
      maxHeaderBytes: z.number().int().min(1_024).max(65_536).default(16_384),
      maxBodyBytes: z
        .number()
        .int()
        .min(0)
        .max(1024 * 1024 * 1024)
        .default(1_048_576),
      /** Time a client has to send its request headers (slowloris). */
      headersTimeoutMs: z.number().int().min(1_000).max(120_000).default(10_000),
      /** Time a client has to send its whole request, body included. */
      requestTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(130_000),
      keepAliveTimeoutMs: z.number().int().min(1_000).max(600_000).default(5_000),
      /** How long shutdown may take before connections are cut. */
      shutdownDeadlineMs: z.number().int().min(1_000).max(600_000).default(30_000),
      /** Keep accepting this long after /ready turned 503 (load balancers need to notice). */
      shutdownDrainDelayMs: z.number().int().min(0).max(60_000).default(0),
    })
    .prefault({}),
  /** Addresses whose `x-forwarded-for` / `x-forwarded-proto` are believed. Empty: only the socket counts. */
  trustedProxies: z.array(cidr).default([]),
  auth: z
    .strictObject({
      issuer: z.string().min(1),
      audience: z.string().min(1),
      jwksUrl: httpUrl.optional(),
      keys: z.array(jwk).optional(),
      hs256Secret: secretString().optional(),
      clockToleranceSeconds: z.number().int().min(0).max(60).default(30),
      maxTokenBytes: z.number().int().min(256).max(16_384).default(4_096),
      maxTokenLifetimeSeconds: z.number().int().min(60).max(900).default(900),
      jwks: z
        .strictObject({
          refreshIntervalSeconds: z.number().int().min(10).max(86_400).default(300),
          /** An unknown `kid` refetches the JWKS at most once per cooldown. */
          cooldownSeconds: z.number().int().min(1).max(3_600).default(30),
          /** Keep verifying with the last good keys this long while the JWKS endpoint is down. */
          maxStaleSeconds: z
            .number()
            .int()
            .min(60)
            .max(7 * 86_400)
            .default(86_400),
          timeoutMs: z.number().int().min(100).max(30_000).default(2_000),
        })
        .prefault({}),
      /** Verified tokens kept by exact token string until they expire. 0 turns it off. */
      tokenCacheEntries: z.number().int().min(0).max(1_000_000).default(10_000),
    })
    .refine((a) => a.jwksUrl !== undefined || (a.keys?.length ?? 0) > 0 || a.hs256Secret !== undefined, {
      error: 'one of jwksUrl, keys or hs256Secret is required',
    }),
  assertion: z.strictObject({
    keys: z
      .array(z.strictObject({ kid: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/), secret: secretString() }))
      .min(1),
  }),
  cors: z
    .strictObject({
      origins: z.array(z.union([z.literal('*'), httpUrl])).default([]),
      credentials: z.boolean().default(false),
      methods: z.array(z.enum(METHODS)).default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
      allowHeaders: z
        .array(z.string())
        .default(['authorization', 'content-type', 'x-request-id', 'idempotency-key', 'traceparent']),
      exposeHeaders: z
        .array(z.string())
        .default(['x-request-id', 'retry-after', 'ratelimit', 'ratelimit-policy', 'www-authenticate']),
      maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
    })
    .refine((c) => !(c.credentials && c.origins.includes('*')), {
      error: 'origins "*" cannot be combined with credentials: list the origins',
    })
    .prefault({}),
  securityHeaders: z
    .strictObject({
      /** Strict-Transport-Security; turn on where clients reach the gateway over TLS. */
      hsts: z.boolean().default(false),
      /** Set on responses that do not already carry them. */
      headers: z.record(z.string(), z.string()).default({}),
    })
    .prefault({}),
  accessLog: z.boolean().default(true),
  /**
   * The gateway's own series on the admin /metrics (process metrics are always there). Off only
   * to measure what they cost (bench/): an operator without them is blind.
   */
  metrics: z.boolean().default(true),
  /**
   * The identity service: the gateway pulls its revocation feed (and listens on
   * Redis when `redisUrl` is set). Without it tokens are not checked for
   * revocation, which the gateway says loudly at start.
   */
  identity: z
    .strictObject({
      url: httpUrl,
      redisUrl: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
      /** How long one long-poll of the revocation feed may wait for news. */
      revocationWaitMs: z.number().int().min(1_000).max(25_000).default(20_000),
      /** Confirm each user (active, member of the token's tenant, current roles) with the identity service. */
      userLookup: z
        .strictObject({
          enabled: z.boolean().default(true),
          cacheSeconds: z.number().int().min(0).max(3_600).default(300),
          /** A cached record still serves this long while the identity service is unreachable. */
          staleSeconds: z.number().int().min(0).max(86_400).default(3_600),
          timeoutMs: z.number().int().min(100).max(10_000).default(2_000),
          maxEntries: z.number().int().min(100).max(10_000_000).default(100_000),
        })
        .prefault({}),
    })
    .optional(),
  rateLimits: rateLimitsSchema.prefault({}),
  /** Access-check services, the decision cache, Redis for invalidations (docs/access-checks.md). */
  access: accessSettingsSchema.optional(),
  upstreams: z.record(
    z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'upstream names are lower-case'),
    upstreamSchema,
  ),
  routes: z.array(routeSchema).min(1),
  /** WebSocket tunnels: caps, timeouts, drain and tickets (docs/gateway.md, "WebSockets"). */
  websockets: websocketsSchema,
  /** Settings for a developer's machine only; refused when NODE_ENV=production. */
  development: z
    .strictObject({
      /** Put the error message in the detail of 500 answers. */
      exposeErrors: z.boolean().default(false),
    })
    .optional(),
});

export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type WebsocketsConfig = z.output<typeof websocketsSchema>;
