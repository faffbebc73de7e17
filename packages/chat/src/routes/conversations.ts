import type { ServiceHooks } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import type { MemberRole } from '../db/members.ts';
import {
  changeRole,
  createChannel,
  getConversation,
  invite,
  join,
  leave,
  listConversationMembers,
  listMine,
  listPublic,
  markRead,
  openDirect,
  remove,
  updateChannel,
} from '../domain/conversations.ts';
import type { ChatServices } from '../domain/services.ts';
import { callerOf, noStore } from './http.ts';
import {
  body,
  channelName,
  conversation,
  errors,
  member,
  params,
  role,
  topic,
  userId,
  uuid,
} from './schemas.ts';

const BASE = '/api/chat/conversations';
const idParams = params({ id: uuid });

export function conversationRoutes(app: FastifyInstance, s: ChatServices, hooks: ServiceHooks): void {
  const common = { preHandler: hooks.user };
  const tags = ['conversations'];

  app.post<{ Body: { kind: 'public' | 'private'; name: string; topic?: string; members?: string[] } }>(
    BASE,
    {
      ...common,
      schema: {
        tags,
        summary: 'Create a channel (public within the tenant, or private by invitation); you are its owner',
        body: body(
          {
            kind: { type: 'string', enum: ['public', 'private'] },
            name: channelName,
            topic,
            members: { type: 'array', items: userId, maxItems: 100 },
          },
          ['kind', 'name'],
        ),
        response: { 201: conversation, ...errors },
      },
    },
    async (req, reply) =>
      noStore(reply)
        .code(201)
        .send(await createChannel(s, callerOf(req), req.body)),
  );

  app.post<{ Body: { members: string[] } }>(
    `${BASE}/direct`,
    {
      ...common,
      schema: {
        tags,
        summary: 'The direct conversation with these members (you included): found again, or created (201)',
        body: body({ members: { type: 'array', items: userId, minItems: 1, maxItems: 63 } }),
        response: { 200: conversation, 201: conversation, ...errors },
      },
    },
    async (req, reply) => {
      const result = await openDirect(s, callerOf(req), req.body.members);
      return noStore(reply)
        .code(result.created ? 201 : 200)
        .send(result.conversation);
    },
  );

  app.get(
    BASE,
    {
      ...common,
      schema: {
        tags,
        summary: 'Your conversations, with your role, read marker, unread and mention counts',
        response: {
          200: { type: 'object', properties: { conversations: { type: 'array', items: conversation } } },
          ...errors,
        },
      },
    },
    async (req, reply) => noStore(reply).send({ conversations: await listMine(s, callerOf(req)) }),
  );

  app.get(
    `${BASE}/public`,
    {
      ...common,
      schema: {
        tags,
        summary: "The tenant's public channels (to browse and join)",
        response: {
          200: { type: 'object', properties: { conversations: { type: 'array', items: conversation } } },
          ...errors,
        },
      },
    },
    async (req, reply) => noStore(reply).send({ conversations: await listPublic(s, callerOf(req)) }),
  );

  app.get<{ Params: { id: string } }>(
    `${BASE}/:id`,
    {
      ...common,
      schema: {
        tags,
        summary: 'One conversation',
        params: idParams,
        response: { 200: conversation, ...errors },
      },
    },
    async (req, reply) => noStore(reply).send(await getConversation(s, callerOf(req), req.params.id)),
  );

  app.patch<{ Params: { id: string }; Body: { name?: string; topic?: string; archived?: boolean } }>(
    `${BASE}/:id`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Rename, set the topic, archive or unarchive (owners and admins)',
        params: idParams,
        body: { ...body({ name: channelName, topic, archived: { type: 'boolean' } }, []), minProperties: 1 },
        response: { 200: conversation, ...errors },
      },
    },
    async (req, reply) => noStore(reply).send(await updateChannel(s, callerOf(req), req.params.id, req.body)),
  );

  app.post<{ Params: { id: string } }>(
    `${BASE}/:id/archive`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Archive: read-only from now on (owners and admins)',
        params: idParams,
        response: { 200: conversation, ...errors },
      },
    },
    async (req, reply) =>
      noStore(reply).send(await updateChannel(s, callerOf(req), req.params.id, { archived: true })),
  );

  app.post<{ Params: { id: string } }>(
    `${BASE}/:id/join`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Join a public channel',
        params: idParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      await join(s, callerOf(req), req.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    `${BASE}/:id/leave`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Leave a channel',
        params: idParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      await leave(s, callerOf(req), req.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    `${BASE}/:id/members`,
    {
      ...common,
      schema: {
        tags,
        summary: 'The members and their roles',
        params: idParams,
        response: {
          200: { type: 'object', properties: { members: { type: 'array', items: member } } },
          ...errors,
        },
      },
    },
    async (req, reply) =>
      noStore(reply).send({ members: await listConversationMembers(s, callerOf(req), req.params.id) }),
  );

  app.post<{ Params: { id: string }; Body: { userId: string; role?: MemberRole } }>(
    `${BASE}/:id/members`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Invite a member (private channels: owners and admins; a role above member: owners)',
        params: idParams,
        body: body({ userId, role }, ['userId']),
        response: { 201: { type: 'null' }, 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      const added = await invite(s, callerOf(req), req.params.id, req.body.userId, req.body.role);
      return reply.code(added ? 201 : 204).send();
    },
  );

  app.patch<{ Params: { id: string; userId: string }; Body: { role: MemberRole } }>(
    `${BASE}/:id/members/:userId`,
    {
      ...common,
      schema: {
        tags,
        summary: "Change a member's role (owners)",
        params: params({ id: uuid, userId }),
        body: body({ role }),
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      await changeRole(s, callerOf(req), req.params.id, req.params.userId, req.body.role);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { id: string; userId: string } }>(
    `${BASE}/:id/members/:userId`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Remove a member (owners and admins; yourself: leave); they stop receiving events at once',
        params: params({ id: uuid, userId }),
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      await remove(s, callerOf(req), req.params.id, req.params.userId);
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { id: string }; Body: { seq: number } }>(
    `${BASE}/:id/read`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Move your read marker forward to a sequence number (it never moves back)',
        params: idParams,
        body: body({ seq: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } }),
        response: {
          200: { type: 'object', properties: { lastReadSeq: { type: 'integer' } } },
          ...errors,
        },
      },
    },
    async (req, reply) =>
      noStore(reply).send({ lastReadSeq: await markRead(s, callerOf(req), req.params.id, req.body.seq) }),
  );
}
