/**
 * JSON Schemas of the public API. They validate requests (unknown fields are
 * refused: `additionalProperties: false` with removal switched off in kit),
 * shape responses, and are the OpenAPI document.
 */
export const email = { type: 'string', format: 'email', minLength: 3, maxLength: 254 } as const;
/** The policy's own maximum applies after this; this only stops absurd bodies early. */
export const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
export const uuid = { type: 'string', format: 'uuid' } as const;
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

export const problem = {
  type: 'object',
  description: 'RFC 9457 problem document (application/problem+json)',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    requestId: { type: 'string' },
  },
} as const;

/** Authenticated routes: the gateway verifies the bearer token and signs an assertion for this service. */
export const bearer = [{ bearerAuth: [] }];
