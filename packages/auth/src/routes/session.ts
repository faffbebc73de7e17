import { ASSERTION_HEADER } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import { register } from '../domain/accounts.ts';
import type { AuthServices } from '../domain/services.ts';
import { login, logout, logoutAll, refresh } from '../domain/sessions.ts';
import { authError } from '../errors.ts';
import {
  clearRefreshCookie,
  meta,
  noStore,
  type RouteHooks,
  refreshTokenFrom,
  setRefreshCookie,
} from './http.ts';
import { bearer, body, email, opaqueToken, password, problem, publicUser, tokenPair } from './schemas.ts';

const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const optionalRefresh = {
  type: 'object',
  additionalProperties: false,
  properties: { refreshToken: opaqueToken },
} as const;

/** The refresh cookie may be the only credential: an empty body is validated as `{}`. */
async function emptyBodyAsObject(req: { body: unknown }): Promise<void> {
  req.body ??= {};
}

export function sessionRoutes(app: FastifyInstance, s: AuthServices, hooks: RouteHooks): void {
  const { config } = s;

  app.post<{ Body: { email: string; password: string; name: string; tenantName: string } }>(
    '/api/auth/register',
    {
      schema: {
        tags: ['session'],
        summary: 'Create a user and a tenant owned by it; returns a token pair',
        body: body({ email, password, name, tenantName: name }),
        response: {
          201: {
            type: 'object',
            properties: {
              ...tokenPair.properties,
              user: publicUser,
              tenant: {
                type: 'object',
                properties: { id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' } },
              },
            },
          },
          400: problem,
          409: problem,
        },
      },
    },
    async (req, reply) => {
      const result = await register(s, req.body, meta(req));
      setRefreshCookie(reply, config, result.refreshToken);
      return noStore(reply).code(201).send(result);
    },
  );

  app.post<{ Body: { email: string; password: string } }>(
    '/api/auth/login',
    {
      schema: {
        tags: ['session'],
        summary: 'Sign in with email and password',
        body: body({ email: { type: 'string', minLength: 1, maxLength: 254 }, password }),
        response: { 200: tokenPair, 401: problem, 429: problem },
      },
    },
    async (req, reply) => {
      const pair = await login(s, req.body.email, req.body.password, meta(req));
      setRefreshCookie(reply, config, pair.refreshToken);
      return noStore(reply).send(pair);
    },
  );

  app.post<{ Body: { refreshToken?: string } | undefined }>(
    '/api/auth/refresh',
    {
      schema: {
        tags: ['session'],
        summary: 'Rotate a refresh token (body, or the refresh cookie with an allowed Origin)',
        body: optionalRefresh,
        response: { 200: tokenPair, 401: problem, 403: problem },
      },
      preValidation: emptyBodyAsObject,
    },
    async (req, reply) => {
      const token = refreshTokenFrom(req, config, req.body?.refreshToken);
      if (token === undefined) throw authError('AUTH_INVALID_REFRESH_TOKEN', 'no refresh token');
      try {
        const pair = await refresh(s, token, meta(req));
        setRefreshCookie(reply, config, pair.refreshToken);
        return noStore(reply).send(pair);
      } catch (err) {
        clearRefreshCookie(reply, config);
        throw err;
      }
    },
  );

  app.post<{ Body: { refreshToken?: string } | undefined }>(
    '/api/auth/logout',
    {
      schema: {
        tags: ['session'],
        summary:
          'End this session (refresh token in the body or cookie; the access token when the gateway sent one)',
        body: optionalRefresh,
        response: { 204: { type: 'null' }, 403: problem },
      },
      preValidation: emptyBodyAsObject,
    },
    async (req, reply) => {
      const token = refreshTokenFrom(req, config, req.body?.refreshToken);
      // Logout is public (it must work from the cookie alone); an identity counts only when its assertion verifies.
      let accessJti: string | undefined;
      let userId: string | undefined;
      if (req.headers[ASSERTION_HEADER] !== undefined) {
        const rid = req.headers['x-request-id'];
        const result = hooks.verifier(req.headers[ASSERTION_HEADER], {
          method: req.method,
          path: req.url.split('?')[0] as string,
          requestId: typeof rid === 'string' ? rid : '',
        });
        if (result.ok) {
          accessJti = result.identity.jti;
          userId = result.identity.sub;
        }
      }
      await logout(s, { refreshToken: token, accessJti, userId }, meta(req));
      clearRefreshCookie(reply, config);
      return noStore(reply).code(204).send();
    },
  );

  app.post(
    '/api/auth/logout-all',
    {
      preHandler: hooks.user,
      schema: {
        tags: ['session'],
        summary: 'End every session of the signed-in user',
        security: bearer,
        response: { 204: { type: 'null' }, 401: problem },
      },
    },
    async (req, reply) => {
      await logoutAll(s, req.identity!.sub, meta(req));
      clearRefreshCookie(reply, config);
      return noStore(reply).code(204).send();
    },
  );
}
