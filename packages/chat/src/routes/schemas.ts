import { problemSchema } from '@gatehouse/kit/service';
/**
 * JSON Schemas of the REST API. They validate requests (unknown fields and
 * query parameters are refused: kit switches AJV's removal off), shape the
 * answers, and are the OpenAPI document.
 */
/** The pattern leaves out the `urn:uuid:` prefix that ajv's `uuid` format also takes. */
export const uuid = {
  type: 'string',
  format: 'uuid',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
} as const;
/** User ids as the identity service issues them (UUIDs), in the form mentions use. */
export const userId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$' } as const;
export const role = { type: 'string', enum: ['owner', 'admin', 'member'] } as const;
export const channelName = {
  type: 'string',
  minLength: 1,
  maxLength: 80,
  pattern: '^[^\\u0000-\\u001f]+$',
} as const;
export const topic = { type: 'string', maxLength: 250, pattern: '^[^\\u0000-\\u001f]*$' } as const;
/**
 * The byte cap is checked after (CHAT_MESSAGE_TOO_LARGE); this only stops absurd strings early.
 * At least one non-blank character: the handler refuses a blank body, and the document says so.
 */
export const messageBody = { type: 'string', minLength: 1, maxLength: 1_048_576, pattern: '\\S' } as const;
/**
 * A reaction travels in the path: what the gateway refuses there (`/`, `\`, `%`, `;`, control
 * characters, a `.` or `..` segment) is left out, so every value the document allows arrives.
 */
export const emoji = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  // Some character other than a dot (no `.`/`..` segment); written without lookahead for every tool.
  pattern:
    '^[^\\u0000-\\u001f\\u007f/\\\\%;]*[^\\u0000-\\u001f\\u007f/\\\\%;.][^\\u0000-\\u001f\\u007f/\\\\%;]*$',
} as const;

export function body(properties: Record<string, unknown>, required: string[] = Object.keys(properties)) {
  return { type: 'object', additionalProperties: false, required, properties } as const;
}

export function params(properties: Record<string, unknown>) {
  return { type: 'object', required: Object.keys(properties), properties } as const;
}

/** Kit's shared problem schema; the published documents reference it (`#/components/schemas/Problem`). */
export const problem = problemSchema;

const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const conversation = {
  type: 'object',
  properties: {
    id: uuid,
    kind: { type: 'string', enum: ['public', 'private', 'direct'] },
    name: { type: ['string', 'null'] },
    topic: { type: 'string' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    archivedAt: nullableTime,
    lastSeq: { type: 'integer', description: 'the last sequence number: compare with your since cursor' },
    members: { type: 'array', items: { type: 'string' }, description: 'direct conversations only' },
    role: { type: ['string', 'null'], enum: ['owner', 'admin', 'member', null] },
    lastReadSeq: { type: 'integer' },
    unread: { type: 'integer', description: 'messages after your read marker, not deleted, not yours' },
    mentions: { type: 'integer', description: 'of those, the ones that mention you' },
  },
} as const;

export const message = {
  type: 'object',
  properties: {
    id: uuid,
    conversationId: uuid,
    authorId: { type: 'string' },
    body: { type: 'string', description: 'as sent, never rendered by the service; empty once deleted' },
    parentId: { type: ['string', 'null'] },
    mentions: { type: 'array', items: { type: 'string' } },
    reactions: {
      type: 'object',
      description: 'emoji → user ids',
      additionalProperties: { type: 'array', items: { type: 'string' } },
    },
    seq: { type: 'integer' },
    version: { type: 'integer', description: 'sequence number of the last change: the since cursor' },
    createdAt: { type: 'string', format: 'date-time' },
    editedAt: nullableTime,
    deletedAt: nullableTime,
  },
} as const;

export const member = {
  type: 'object',
  properties: { userId: { type: 'string' }, role, joinedAt: { type: 'string', format: 'date-time' } },
} as const;

export const errors = { 400: problem, 401: problem, 403: problem, 404: problem, 409: problem } as const;
