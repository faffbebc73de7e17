import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchema,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { ErrorTracker } from '../error-tracking.ts';
import { isProblemError, PROBLEM_CONTENT_TYPE, ProblemError, toProblem } from '../errors.ts';
import { type Readiness, readinessHttpStatus } from '../health.ts';
import { Histogram, type Registry } from '../metrics.ts';
import { createMethodIndex } from './method-not-allowed.ts';
import { parseQueryString } from './query-string.ts';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id.ts';
import { refuseUnstorableText } from './storable-text.ts';
import { addRequestTracing, requestSpan } from './tracing.ts';

export interface ServiceAppOptions {
  /** Error code prefix: `AUTH` gives `AUTH_VALIDATION`, `AUTH_INTERNAL` … */
  readonly prefix: string;
  readonly logger: Logger;
  readonly readiness: Readiness;
  readonly metrics: Registry;
  readonly bodyLimit?: number;
  /** Addresses of proxies whose `x-forwarded-for` is believed (the gateway). */
  readonly trustProxy?: FastifyServerOptions['trustProxy'];
  /** Unexpected errors (500s) are reported here (startErrorTracking). */
  readonly errors?: ErrorTracker;
}

/** Probes and metrics stay out of the OpenAPI document (`hide` is read by @fastify/swagger). */
const HIDDEN = { hide: true } as FastifySchema;

interface ValidationIssue {
  readonly field: string;
  readonly message: string;
}

function validationIssues(err: FastifyError): ValidationIssue[] {
  const context = err.validationContext ?? 'body';
  return (err.validation ?? []).map((v) => {
    const params = v.params as { missingProperty?: string; additionalProperty?: string };
    let field = `${context}${v.instancePath.replaceAll('/', '.')}`;
    if (params.missingProperty !== undefined) field += `.${params.missingProperty}`;
    if (params.additionalProperty !== undefined) field += `.${params.additionalProperty}`;
    const message =
      params.additionalProperty !== undefined ? 'is not an allowed field' : (v.message ?? 'is not valid');
    return { field, message };
  });
}

/** Turns what Fastify throws into our problem errors; unknown errors stay unknown (500). */
function classify(err: FastifyError, prefix: string): ProblemError | undefined {
  if (isProblemError(err)) return err;
  const spec = (status: number, title: string) => ({ status, title });
  if (err.validation !== undefined) {
    return new ProblemError(`${prefix}_VALIDATION`, spec(400, 'The request is not valid'), err.message, {
      extensions: { errors: validationIssues(err) },
    });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProblemError(`${prefix}_BODY_TOO_LARGE`, spec(413, 'The request body is too large'));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ProblemError(`${prefix}_UNSUPPORTED_MEDIA_TYPE`, spec(415, 'Unsupported content type'));
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new ProblemError(`${prefix}_MALFORMED_REQUEST`, spec(400, 'The request could not be read'));
  }
  return undefined;
}

/**
 * A Fastify instance with what every Gatehouse service shares: request ids,
 * problem+json errors, `/live`, `/ready`, `/metrics`, request metrics. The
 * caller adds its routes; `main.ts` listens, this never does.
 */
export function createServiceApp(options: ServiceAppOptions): FastifyInstance {
  const { prefix, readiness, metrics } = options;
  const app = Fastify({
    loggerInstance: options.logger as unknown as FastifyServerOptions['loggerInstance'],
    genReqId: requestIdFor,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    // Invalid UTF-8 in a query value is refused like any unstorable text, not turned into U+FFFD.
    routerOptions: { querystringParser: parseQueryString },
    // Unknown fields are refused, never silently dropped: mass assignment must fail loudly.
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array' } },
    // What the router refuses before any hook (a path parameter over 100 characters, a bad URL
    // encoding) is answered like every other error, not with Fastify's own JSON.
    frameworkErrors: (err, req, reply) => answerError(err, req, reply),
  }) as unknown as FastifyInstance;

  const duration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'HTTP requests handled, by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [metrics],
  });

  addRequestTracing(app);
  app.addHook('onRequest', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id);
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    duration.observe(
      { method: req.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    req.log.info(
      {
        method: req.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        traceId: requestSpan(req)?.spanContext().traceId,
      },
      'request done',
    );
  });

  app.setErrorHandler(answerError);
  function answerError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
    const problem = classify(err, prefix);
    if (problem === undefined || problem.status >= 500) {
      req.log.error({ err }, 'request failed');
      requestSpan(req)?.recordException(err);
    }
    const doc = toProblem(problem ?? err, req.id, `${prefix}_INTERNAL`);
    if (problem === undefined || problem.status >= 500) {
      options.errors?.capture(err, {
        requestId: req.id,
        traceId: requestSpan(req)?.spanContext().traceId,
        route: req.routeOptions.url,
        method: req.method,
        status: doc.status,
        tenantId: req.identity?.tid,
        userId: req.identity?.sub,
      });
    }
    if (problem?.headers !== undefined) reply.headers(problem.headers);
    reply.code(doc.status).header('content-type', PROBLEM_CONTENT_TYPE).header('cache-control', 'no-store');
    return reply.header(REQUEST_ID_HEADER, req.id).send(JSON.stringify(doc));
  }

  // Input and routing rules for every route of every service (storable-text.ts, method-not-allowed.ts).
  app.addHook('preValidation', refuseUnstorableText(prefix));
  const methods = createMethodIndex();
  app.addHook('onRoute', (route) => methods.add(route.method, route.url ?? route.path));

  const notAllowed = (method: string, allow: readonly string[]) =>
    new ProblemError(
      `${prefix}_METHOD_NOT_ALLOWED`,
      { status: 405, title: 'Method not allowed' },
      `${method} is not a method of this path`,
      { headers: { allow: allow.join(', ') } },
    );
  const pathOf = (url: string) => {
    const q = url.indexOf('?');
    return q === -1 ? url : url.slice(0, q);
  };
  // The router matches each method on its own: `GET /conversations/direct` would reach
  // `GET /conversations/:id` (a 400 for a non-UUID id) although the path is the static
  // `POST /conversations/direct`. A path a static route names has that route's methods only.
  app.addHook('onRequest', async (req) => {
    // Only a parametric or wildcard match is overruled; a static match is the router's own answer.
    const matched = req.routeOptions.url;
    if (matched === undefined || !/[:*]/.test(matched)) return;
    const own = methods.staticMethods(pathOf(req.url));
    if (own !== undefined && !own.includes(req.method) && req.method !== 'OPTIONS') {
      throw notAllowed(req.method, own);
    }
  });

  app.setNotFoundHandler((req, reply) => {
    const allow = methods.allowed(pathOf(req.url));
    const problem =
      allow.length > 0
        ? notAllowed(req.method, allow)
        : new ProblemError(`${prefix}_NOT_FOUND`, { status: 404, title: 'Not found' }, 'no such route');
    const doc = toProblem(problem, req.id, `${prefix}_INTERNAL`);
    if (problem.headers !== undefined) reply.headers(problem.headers);
    return reply.code(doc.status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(doc));
  });

  app.get('/live', { schema: HIDDEN }, async (_req, reply) => {
    return reply.header('cache-control', 'no-store').send({ status: 'live' });
  });
  app.get('/ready', { schema: HIDDEN }, async (_req, reply) => {
    const report = await readiness.evaluate().catch(() => ({ status: 'not_ready' as const }));
    return reply
      .code(readinessHttpStatus(report.status))
      .header('cache-control', 'no-store')
      .send({ status: report.status });
  });
  app.get('/metrics', { schema: HIDDEN }, async (_req, reply) => {
    return reply.header('content-type', metrics.contentType).send(await metrics.metrics());
  });
  return app;
}
