import type { FastifyInstance } from 'fastify';
import type { Role } from '../db/tenants.ts';
import type { AuthServices } from '../domain/services.ts';
import {
  acceptInvitation,
  cancelInvitation,
  changeRole,
  createTenant,
  invitations,
  invite,
  members,
  myTenants,
  removeMember,
  switchTenant,
} from '../domain/tenants.ts';
import { meta, noStore, type RouteHooks, setRefreshCookie } from './http.ts';
import {
  bearer,
  body,
  email,
  invitation,
  member,
  membership,
  opaqueToken,
  problem,
  role,
  tokenPair,
  uuid,
} from './schemas.ts';

const tenantParams = { type: 'object', required: ['tenantId'], properties: { tenantId: uuid } } as const;
const memberParams = {
  type: 'object',
  required: ['tenantId', 'userId'],
  properties: { tenantId: uuid, userId: uuid },
} as const;
const invitationParams = {
  type: 'object',
  required: ['tenantId', 'invitationId'],
  properties: { tenantId: uuid, invitationId: uuid },
} as const;
const errors = { 400: problem, 401: problem, 403: problem, 404: problem, 409: problem };

export function tenantRoutes(app: FastifyInstance, s: AuthServices, hooks: RouteHooks): void {
  const common = { preHandler: hooks.user };
  const tags = ['tenants'];

  app.get(
    '/api/auth/tenants',
    {
      ...common,
      schema: {
        tags,
        summary: 'The tenants I belong to',
        security: bearer,
        response: { 200: { type: 'array', items: membership } },
      },
    },
    async (req, reply) => noStore(reply).send(await myTenants(s, req.identity!)),
  );

  app.post<{ Body: { name: string } }>(
    '/api/auth/tenants',
    {
      ...common,
      schema: {
        tags,
        summary: 'Create a tenant owned by me',
        security: bearer,
        body: body({ name: { type: 'string', minLength: 1, maxLength: 200 } }),
        response: { 201: membership, ...errors },
      },
    },
    async (req, reply) => {
      const t = await createTenant(s, req.identity!, req.body.name, meta(req));
      return noStore(reply).code(201).send({ tenantId: t.id, tenantName: t.name, role: t.role });
    },
  );

  app.post<{ Body: { tenantId: string } }>(
    '/api/auth/switch-tenant',
    {
      ...common,
      schema: {
        tags,
        summary: 'A new token pair acting for another tenant I belong to',
        security: bearer,
        body: body({ tenantId: uuid }),
        response: { 200: tokenPair, ...errors },
      },
    },
    async (req, reply) => {
      const pair = await switchTenant(s, req.identity!, req.body.tenantId, meta(req));
      setRefreshCookie(reply, s.config, pair.refreshToken);
      return noStore(reply).send(pair);
    },
  );

  app.get<{ Params: { tenantId: string } }>(
    '/api/auth/tenants/:tenantId/members',
    {
      ...common,
      schema: {
        tags,
        summary: 'Members of my active tenant (owner, admin)',
        security: bearer,
        params: tenantParams,
        response: { 200: { type: 'array', items: member }, ...errors },
      },
    },
    async (req, reply) => noStore(reply).send(await members(s, req.identity!, req.params.tenantId)),
  );

  app.patch<{ Params: { tenantId: string; userId: string }; Body: { role: Role } }>(
    '/api/auth/tenants/:tenantId/members/:userId',
    {
      ...common,
      schema: {
        tags,
        summary: "Change a member's role (owner, admin; only owners grant or take owner)",
        security: bearer,
        params: memberParams,
        body: body({ role }),
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      await changeRole(s, req.identity!, req.params.tenantId, req.params.userId, req.body.role, meta(req));
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { tenantId: string; userId: string } }>(
    '/api/auth/tenants/:tenantId/members/:userId',
    {
      ...common,
      schema: {
        tags,
        summary: 'Remove a member (owner, admin; admins cannot remove owners) or leave (yourself)',
        security: bearer,
        params: memberParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      await removeMember(s, req.identity!, req.params.tenantId, req.params.userId, meta(req));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { tenantId: string } }>(
    '/api/auth/tenants/:tenantId/invitations',
    {
      ...common,
      schema: {
        tags,
        summary: 'Open invitations (owner, admin)',
        security: bearer,
        params: tenantParams,
        response: { 200: { type: 'array', items: invitation }, ...errors },
      },
    },
    async (req, reply) => noStore(reply).send(await invitations(s, req.identity!, req.params.tenantId)),
  );

  app.post<{ Params: { tenantId: string }; Body: { email: string; role: Role } }>(
    '/api/auth/tenants/:tenantId/invitations',
    {
      ...common,
      schema: {
        tags,
        summary: 'Invite by email (owner, admin; only owners invite owners)',
        security: bearer,
        params: tenantParams,
        body: body({ email, role }),
        response: { 201: invitation, ...errors },
      },
    },
    async (req, reply) => {
      const created = await invite(
        s,
        req.identity!,
        req.params.tenantId,
        req.body.email,
        req.body.role,
        meta(req),
      );
      return noStore(reply).code(201).send(created);
    },
  );

  app.delete<{ Params: { tenantId: string; invitationId: string } }>(
    '/api/auth/tenants/:tenantId/invitations/:invitationId',
    {
      ...common,
      schema: {
        tags,
        summary: 'Cancel an invitation (owner, admin)',
        security: bearer,
        params: invitationParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      await cancelInvitation(s, req.identity!, req.params.tenantId, req.params.invitationId);
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { token: string } }>(
    '/api/auth/invitations/accept',
    {
      ...common,
      schema: {
        tags,
        summary: 'Accept an invitation sent to my address',
        security: bearer,
        body: body({ token: opaqueToken }),
        response: { 200: membership, ...errors },
      },
    },
    async (req, reply) => {
      const joined = await acceptInvitation(s, req.identity!, req.body.token, meta(req));
      return noStore(reply).send({ tenantId: joined.tenantId, role: joined.role });
    },
  );
}
