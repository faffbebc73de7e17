import { problemSchema } from '@gatehouse/kit/service';

/**
 * JSON Schemas of the public API. They validate requests (unknown fields are
 * refused: `additionalProperties: false` with removal switched off in kit),
 * shape responses, and are the OpenAPI document.
 */
/**
 * Exactly what the service accepts, as a pattern (the one of ajv-formats'
 * `email`, spelled without the `i` flag JSON Schema lacks): `format: email`
 * means RFC 5322 to most tools (quoted local parts, IP literals), which the
 * service refuses, so a client trusting the format would be refused.
 */
export const email = {
  type: 'string',
  description:
    'An email address: dot-atom local part, a domain with at least one dot (no quoted parts, no IP literals)',
  pattern:
    "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$",
  minLength: 3,
  maxLength: 254,
} as const;
/** The policy's own maximum applies after this; this only stops absurd bodies early. */
export const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
/** The pattern leaves out the `urn:uuid:` prefix that ajv's `uuid` format also takes. */
export const uuid = {
  type: 'string',
  format: 'uuid',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
} as const;
export const role = { type: 'string', enum: ['owner', 'admin', 'member'] } as const;
export const opaqueToken = {
  type: 'string',
  minLength: 10,
  maxLength: 200,
  pattern: '^[A-Za-z0-9_-]+$',
} as const;

export function body(properties: Record<string, unknown>, required: string[] = Object.keys(properties)) {
  return { type: 'object', additionalProperties: false, required, properties } as const;
}

export const tokenPair = {
  type: 'object',
  required: ['accessToken', 'refreshToken', 'tokenType', 'expiresIn'],
  properties: {
    accessToken: { type: 'string' },
    refreshToken: { type: 'string' },
    tokenType: { type: 'string', enum: ['Bearer'] },
    expiresIn: { type: 'integer', description: 'seconds' },
  },
} as const;

export const publicUser = {
  type: 'object',
  properties: {
    id: uuid,
    email: { type: 'string' },
    name: { type: 'string' },
    emailVerified: { type: 'boolean' },
    status: { type: 'string', enum: ['active', 'disabled'] },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const membership = {
  type: 'object',
  properties: { tenantId: uuid, tenantName: { type: 'string' }, role },
} as const;

export const member = {
  type: 'object',
  properties: {
    userId: uuid,
    email: { type: 'string' },
    name: { type: 'string' },
    role,
    joinedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const invitation = {
  type: 'object',
  properties: {
    id: uuid,
    tenantId: uuid,
    email: { type: 'string' },
    role,
    expiresAt: { type: 'string', format: 'date-time' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

/** Kit's shared problem schema; the published documents reference it (`#/components/schemas/Problem`). */
export const problem = problemSchema;

/** Authenticated routes: the gateway verifies the bearer token and signs an assertion for this service. */
export const bearer = [{ bearerAuth: [] }];
