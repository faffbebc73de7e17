import type { FastifyInstance } from 'fastify';
import {
  changePassword,
  confirmPasswordReset,
  me,
  requestPasswordReset,
  resendVerification,
  verifyEmail,
} from '../domain/accounts.ts';
import type { AuthServices } from '../domain/services.ts';
import { clearRefreshCookie, meta, noStore, type RouteHooks } from './http.ts';
import {
  bearer,
  body,
  email,
  membership,
  opaqueToken,
  password,
  problem,
  publicUser,
  uuid,
} from './schemas.ts';

export function accountRoutes(app: FastifyInstance, s: AuthServices, hooks: RouteHooks): void {
  app.get(
    '/api/auth/me',
    {
      preHandler: hooks.user,
      schema: {
        tags: ['account'],
        summary: 'The signed-in user, the active tenant and roles, and every membership',
        security: bearer,
        response: {
          200: {
            type: 'object',
            properties: {
              user: publicUser,
              tenantId: uuid,
              roles: { type: 'array', items: { type: 'string' } },
              memberships: { type: 'array', items: membership },
            },
          },
          401: problem,
        },
      },
    },
    async (req, reply) => noStore(reply).send(await me(s, req.identity!.sub, req.identity!.tid)),
  );

  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/api/auth/password/change',
    {
      preHandler: hooks.user,
      schema: {
        tags: ['account'],
        summary: 'Change the password; ends every session',
        security: bearer,
        body: body({ currentPassword: password, newPassword: password }),
        response: { 204: { type: 'null' }, 400: problem, 403: problem },
      },
    },
    async (req, reply) => {
      await changePassword(s, req.identity!.sub, req.body.currentPassword, req.body.newPassword, meta(req));
      clearRefreshCookie(reply, s.config);
      return noStore(reply).code(204).send();
    },
  );

  app.post<{ Body: { email: string } }>(
    '/api/auth/password-reset/request',
    {
      schema: {
        tags: ['account'],
        summary: 'Mail a reset link (always 202, whether the address is known or not)',
        body: body({ email }),
        response: { 202: { type: 'null' } },
      },
    },
    async (req, reply) => {
      await requestPasswordReset(s, req.body.email, meta(req));
      return noStore(reply).code(202).send();
    },
  );

  app.post<{ Body: { token: string; newPassword: string } }>(
    '/api/auth/password-reset/confirm',
    {
      schema: {
        tags: ['account'],
        summary: 'Set a new password with a reset token; ends every session',
        body: body({ token: opaqueToken, newPassword: password }),
        response: { 204: { type: 'null' }, 400: problem },
      },
    },
    async (req, reply) => {
      await confirmPasswordReset(s, req.body.token, req.body.newPassword, meta(req));
      return noStore(reply).code(204).send();
    },
  );

  app.post<{ Body: { token: string } }>(
    '/api/auth/email/verify',
    {
      schema: {
        tags: ['account'],
        summary: 'Confirm an email address with the mailed token',
        body: body({ token: opaqueToken }),
        response: { 204: { type: 'null' }, 400: problem },
      },
    },
    async (req, reply) => {
      await verifyEmail(s, req.body.token, meta(req));
      return noStore(reply).code(204).send();
    },
  );

  app.post(
    '/api/auth/email/verification',
    {
      preHandler: hooks.user,
      schema: {
        tags: ['account'],
        summary: 'Send the verification mail again',
        security: bearer,
        response: { 202: { type: 'null' } },
      },
    },
    async (req, reply) => {
      await resendVerification(s, req.identity!.sub);
      return noStore(reply).code(202).send();
    },
  );
}
