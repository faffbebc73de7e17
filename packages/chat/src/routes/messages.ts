import type { ServiceHooks } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import { deleteMessage, editMessageBody, history, react, search, sendMessage } from '../domain/messages.ts';
import type { ChatServices } from '../domain/services.ts';
import { chatError } from '../errors.ts';
import { callerOf, noStore } from './http.ts';
import { body, emoji, errors, message, messageBody, params, problem, uuid } from './schemas.ts';

const BASE = '/api/chat/conversations/:id/messages';
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
const limit = { type: 'integer', minimum: 1, maximum: 100, default: 50 } as const;
const cursor = { type: 'string', pattern: '^[0-9]{1,15}$' } as const;
const messageParams = params({ id: uuid, messageId: uuid });

interface HistoryQuerystring {
  before?: string;
  after?: string;
  since?: string;
  thread?: string;
  limit: number;
}

export function messageRoutes(app: FastifyInstance, s: ChatServices, hooks: ServiceHooks): void {
  const common = { preHandler: hooks.user };
  const tags = ['messages'];

  app.get<{ Params: { id: string }; Querystring: HistoryQuerystring }>(
    BASE,
    {
      ...common,
      schema: {
        tags,
        summary:
          'History: the newest page, or `before`/`after` a message id; or catch-up: what changed `since` a version',
        params: params({ id: uuid }),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { before: uuid, after: uuid, since: cursor, thread: uuid, limit },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              messages: { type: 'array', items: message },
              hasMore: { type: 'boolean' },
              since: { type: 'integer', description: 'with since: the cursor for the next call' },
              lastSeq: { type: 'integer' },
            },
          },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const given = [q.before, q.after, q.since].filter((v) => v !== undefined).length;
      if (given > 1) throw chatError('CHAT_INVALID_CURSOR', 'use one of before, after and since');
      return noStore(reply).send(
        await history(s, callerOf(req), req.params.id, {
          before: q.before,
          after: q.after,
          since: q.since === undefined ? undefined : Number(q.since),
          thread: q.thread,
          limit: q.limit,
        }),
      );
    },
  );

  app.post<{ Params: { id: string }; Body: { body: string; parentId?: string } }>(
    BASE,
    {
      ...common,
      schema: {
        tags,
        summary: 'Send a message (a reply with parentId). Idempotency-Key: a retry returns the first message',
        params: params({ id: uuid }),
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', pattern: IDEMPOTENCY_KEY.source } },
        },
        body: body({ body: messageBody, parentId: uuid }, ['body']),
        response: { 200: message, 201: message, ...errors, 429: problem },
      },
    },
    async (req, reply) => {
      const key = req.headers['idempotency-key'];
      const result = await sendMessage(s, callerOf(req), req.params.id, {
        body: req.body.body,
        parentId: req.body.parentId,
        idempotencyKey: typeof key === 'string' ? key : undefined,
      });
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return noStore(reply)
        .code(result.replayed ? 200 : 201)
        .send(result.message);
    },
  );

  app.patch<{ Params: { id: string; messageId: string }; Body: { body: string } }>(
    `${BASE}/:messageId`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Edit your message (sets editedAt)',
        params: messageParams,
        body: body({ body: messageBody }),
        response: { 200: message, ...errors },
      },
    },
    async (req, reply) =>
      noStore(reply).send(
        await editMessageBody(s, callerOf(req), req.params.id, req.params.messageId, req.body.body),
      ),
  );

  app.delete<{ Params: { id: string; messageId: string } }>(
    `${BASE}/:messageId`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Delete a message: a tombstone keeps its place (authors; owners and admins: any)',
        params: messageParams,
        response: { 200: message, ...errors },
      },
    },
    async (req, reply) =>
      noStore(reply).send(await deleteMessage(s, callerOf(req), req.params.id, req.params.messageId)),
  );

  for (const method of ['PUT', 'DELETE'] as const) {
    app.route<{ Params: { id: string; messageId: string; emoji: string } }>({
      method,
      url: `${BASE}/:messageId/reactions/:emoji`,
      ...common,
      schema: {
        tags,
        summary: method === 'PUT' ? 'Add your reaction (idempotent)' : 'Remove your reaction (idempotent)',
        params: params({ id: uuid, messageId: uuid, emoji }),
        response: { 200: message, ...errors },
      },
      handler: async (req, reply) =>
        noStore(reply).send(
          await react(
            s,
            callerOf(req),
            req.params.id,
            req.params.messageId,
            req.params.emoji,
            method === 'PUT',
          ),
        ),
    });
  }

  app.get<{ Querystring: { q: string; conversation?: string; limit: number } }>(
    '/api/chat/search',
    {
      ...common,
      schema: {
        tags: ['search'],
        summary: 'Full-text search over the conversations you belong to (newest first)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['q'],
          properties: {
            q: { type: 'string', minLength: 1, maxLength: 200 },
            conversation: uuid,
            limit: { ...limit, default: 20 },
          },
        },
        response: {
          200: { type: 'object', properties: { messages: { type: 'array', items: message } } },
          ...errors,
        },
      },
    },
    async (req, reply) =>
      noStore(reply).send({
        messages: await search(s, callerOf(req), req.query.q, req.query.limit, req.query.conversation),
      }),
  );
}
