import { PROBLEM_CONTENT_TYPE } from '../errors.ts';

/**
 * What every Gatehouse OpenAPI document shares, written once: the RFC 9457
 * problem schema and the answers any route can give, whichever service is
 * behind it. Each service's document references these
 * (`#/components/schemas/Problem`, `#/components/responses/…`) instead of
 * describing errors again.
 */

export const PROBLEM_REF = '#/components/schemas/Problem';

/** RFC 9457 with our members; extension members are allowed (RFC 9457 §3.2). */
export const problemSchema = {
  type: 'object',
  description:
    'RFC 9457 problem document. Match on `code` (stable, listed in docs/errors.md); `title` and `detail` are for people.',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', description: '`urn:gatehouse:problem:<code>`' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    code: { type: 'string', pattern: '^[A-Z]+_[A-Z0-9_]+$' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      description: 'With `*_VALIDATION`: each refused field (`body.email`, `params.tenantId` …)',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
  additionalProperties: true,
} as const;

export function problemContent() {
  return { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: PROBLEM_REF } } };
}

function answer(description: string, headers?: Record<string, unknown>) {
  return { description, ...(headers === undefined ? {} : { headers }), content: problemContent() };
}

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
};

/**
 * The answers that every operation can give, by status, with the component
 * name they are published under. The gateway's (401, 403, 429, 502, 503, 504)
 * come first: they happen before or instead of the service.
 */
export const commonResponses = {
  400: {
    name: 'BadRequest',
    response: answer(
      'The request is not valid: the gateway refused the path (`GW_BAD_PATH`), or the service refused ' +
        'the body, query or path parameters (`*_VALIDATION` with `errors`, including text a database ' +
        'cannot store: NUL characters or unpaired UTF-16 surrogates; `*_MALFORMED_REQUEST`).',
    ),
  },
  401: {
    name: 'Unauthorized',
    response: answer(
      'The gateway needs a valid access token (`GW_UNAUTHENTICATED`, `GW_INVALID_TOKEN`); ' +
        '`WWW-Authenticate: Bearer`.',
      { 'WWW-Authenticate': { schema: { type: 'string' } } },
    ),
  },
  403: {
    name: 'Forbidden',
    response: answer(
      'The gateway refused the caller: a role rule of the route (`GW_FORBIDDEN`), a resource access ' +
        'check (`GW_ACCESS_DENIED`) or a CORS origin (`GW_CORS_REJECTED`).',
    ),
  },
  429: {
    name: 'TooManyRequests',
    response: answer('Over the rate limit (`GW_RATE_LIMITED`); see `Retry-After`.', {
      ...retryAfter,
      RateLimit: { schema: { type: 'string' } },
      'RateLimit-Policy': { schema: { type: 'string' } },
    }),
  },
  500: {
    name: 'InternalError',
    response: answer('An unexpected error (`*_INTERNAL`); no detail is given, the log has it.'),
  },
  502: {
    name: 'BadGateway',
    response: answer('The gateway could not reach the service (`GW_UPSTREAM_UNAVAILABLE`).'),
  },
  503: {
    name: 'ServiceUnavailable',
    response: answer(
      'The gateway or the service cannot serve right now (breaker open, busy, draining, keys or ' +
        'identity unavailable); see `Retry-After`.',
      retryAfter,
    ),
  },
  504: {
    name: 'GatewayTimeout',
    response: answer('The service did not answer within the route timeout (`GW_UPSTREAM_TIMEOUT`).'),
  },
} as const;

/** Answers of operations that take a body (methods other than GET and HEAD). */
export const bodyResponses = {
  413: {
    name: 'PayloadTooLarge',
    response: answer(
      'The body is larger than the route allows (`GW_PAYLOAD_TOO_LARGE`, `*_BODY_TOO_LARGE`).',
    ),
  },
  415: {
    name: 'UnsupportedMediaType',
    response: answer('The body is not `application/json` (`*_UNSUPPORTED_MEDIA_TYPE`).'),
  },
} as const;

/** The answer to a method a known path does not have (not an operation: it is on no operation's list). */
export const methodNotAllowedResponse = answer(
  'The path exists but not with this method (`*_METHOD_NOT_ALLOWED`); `Allow` lists its methods.',
  { Allow: { schema: { type: 'string' } } },
);
