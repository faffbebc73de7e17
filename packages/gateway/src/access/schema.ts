import { z } from 'zod';

/**
 * Config of resource access checks: a route's `access` list (which requests
 * need which check) and the gateway's `access` block (the checkers, the
 * decision cache, Redis for invalidations). Zod only, no gateway imports, so
 * config/schema.ts can import it without a cycle.
 */

// The rule syntax of `public` and `roles` (config/schema.ts), repeated here so this file imports nothing.
const RULE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const RULE = /^(\*|[A-Z]+(?:,[A-Z]+)*)\s+(\*|\/[^\s]*)$/;
const CHECKER_NAME = /^[a-z][a-z0-9-]{0,62}$/;

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** The path segments of a rule's pattern (`[]` for `*`). */
export function ruleSegments(rule: string): string[] {
  const path = rule.trim().split(/\s+/)[1] ?? '*';
  return path === '*' ? [] : path.split('/').filter((s) => s !== '');
}

export const accessCheckSchema = z
  .strictObject({
    /** `METHOD[,METHOD] /path` relative to the route's prefix, as in `roles` and `public`. */
    rule: z
      .string()
      .regex(RULE, 'must be "METHOD /path", "METHOD,METHOD /path" or "* /path"')
      .refine(
        (rule) => {
          const methods = rule.trim().split(/\s+/)[0] as string;
          return methods === '*' || methods.split(',').every((m) => RULE_METHODS.includes(m));
        },
        { error: `methods must be among ${RULE_METHODS.join(', ')}` },
      ),
    /** The resource type the checker is asked about (`venue`). */
    resource: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'resource types are lower-case identifiers'),
    /** The `:param` of the rule whose path segment is the resource id. */
    param: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be the name of a :param of the rule'),
    /** Default: `read` for GET, HEAD and OPTIONS, `write` for every other method. */
    action: z
      .string()
      .regex(/^[a-z][a-z0-9:_-]{0,63}$/, 'actions are lower-case identifiers')
      .optional(),
    /** A checker declared in the gateway's `access.checkers`. */
    checker: z.string().regex(CHECKER_NAME, 'checker names are lower-case'),
  })
  .superRefine((check, ctx) => {
    const segments = ruleSegments(check.rule);
    const index = segments.indexOf(`:${check.param}`);
    if (index === -1) {
      ctx.addIssue({
        code: 'custom',
        path: ['param'],
        message: `the rule's path has no :${check.param} segment`,
      });
    } else if (segments.slice(0, index).includes('**')) {
      // `**` matches the rest of the path: a segment after it has no fixed position.
      ctx.addIssue({ code: 'custom', path: ['param'], message: `:${check.param} must come before **` });
    }
  });

/** A route's `access` list: every check whose rule matches a request must allow it. */
export const accessChecksSchema = z.array(accessCheckSchema).max(32).default([]);

const checkerBreakerSchema = z.strictObject({
  windowSeconds: z.number().int().min(1).max(600).default(10),
  minimumRequests: z.number().int().min(1).max(100_000).default(20),
  failureRatePercent: z.number().min(1).max(100).default(50),
  openSeconds: z.number().int().min(1).max(3_600).default(5),
  halfOpenProbes: z.number().int().min(1).max(100).default(1),
  /** A half-open probe's timeout (never longer than the checker's `timeoutMs`). */
  probeTimeoutMs: z.number().int().min(100).max(30_000).default(2_000),
});

export const checkerSchema = z.strictObject({
  /** `POST`ed with `{ tenantId, userId, resourceType, resourceId, action }`. */
  url: httpUrl.refine((u) => !/^https?:\/\/[^/]*@/.test(u), {
    error: 'must not carry credentials; the gateway signs its calls with the assertion keys',
  }),
  /** The whole call (connect, answer, body); past it the request is denied. */
  timeoutMs: z.number().int().min(100).max(30_000).default(3_000),
  /** Keep-alive connections to the checker, per gateway process. */
  connections: z.number().int().min(1).max(1_024).default(64),
  breaker: checkerBreakerSchema.prefault({}),
});

/** The gateway's `access` block. */
export const accessSettingsSchema = z.strictObject({
  cache: z
    .strictObject({
      /** How long an `allowed: true` answer is reused (0: never). */
      allowTtlSeconds: z.number().int().min(0).max(86_400).default(600),
      /** How long an `allowed: false` answer is reused (0: never). Failures are never cached. */
      denyTtlSeconds: z.number().int().min(0).max(86_400).default(30),
      /** Decisions kept at most; the oldest go first. */
      maxEntries: z.number().int().min(1).max(10_000_000).default(100_000),
    })
    .prefault({}),
  /** Redis carrying invalidations on `gatehouse:access-invalidations` (`{ env: REDIS_URL }`). */
  redisUrl: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  checkers: z.record(z.string().regex(CHECKER_NAME, 'checker names are lower-case'), checkerSchema),
});

export type AccessCheckConfig = z.output<typeof accessCheckSchema>;
export type AccessSettings = z.output<typeof accessSettingsSchema>;
export type AccessSettingsInput = z.input<typeof accessSettingsSchema>;
export type CheckerConfig = z.output<typeof checkerSchema>;

/**
 * Checks between parts of the (env-resolved, not yet validated) config
 * document: every `checker` a route names is declared in `access.checkers`.
 * For config/load.ts's cross-reference pass, so they are reported together
 * with the schema's problems.
 */
export function accessCrossReferenceIssues(document: unknown): string[] {
  const doc = (document ?? {}) as { routes?: unknown; access?: { checkers?: unknown } };
  const declared =
    typeof doc.access?.checkers === 'object' && doc.access.checkers !== null
      ? Object.keys(doc.access.checkers)
      : [];
  const routes = Array.isArray(doc.routes) ? (doc.routes as { access?: unknown }[]) : [];
  const issues: string[] = [];
  routes.forEach((route, i) => {
    if (!Array.isArray(route?.access)) return;
    (route.access as { checker?: unknown }[]).forEach((check, j) => {
      if (typeof check?.checker !== 'string' || declared.includes(check.checker)) return;
      issues.push(
        doc.access === undefined
          ? `routes[${i}].access[${j}].checker: "${check.checker}" needs an access block with its checkers`
          : `routes[${i}].access[${j}].checker: unknown checker "${check.checker}" (declared: ${declared.join(', ') || 'none'})`,
      );
    });
  });
  return issues;
}
