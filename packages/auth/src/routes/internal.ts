import { INTERNAL_USER_ROUTE, REVOCATION_FEED_PATH } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import { internalUser, setStatus } from '../domain/accounts.ts';
import type { AuthServices } from '../domain/services.ts';
import { meta, noStore, type RouteHooks } from './http.ts';
import { body, problem, uuid } from './schemas.ts';

const MAX_WAIT_MS = 25_000;

/**
 * For the gateway and platform services only (a `service:<name>` assertion
 * with the `platform-service` role); never routed publicly.
 */
export function internalRoutes(app: FastifyInstance, s: AuthServices, hooks: RouteHooks): void {
  const common = { preHandler: hooks.platform };
  const tags = ['internal'];

  app.get<{ Params: { id: string }; Querystring: { tenant?: string } }>(
    INTERNAL_USER_ROUTE,
    {
      ...common,
      schema: {
        tags,
        summary: "A user's status, and membership and roles in one tenant",
        params: { type: 'object', required: ['id'], properties: { id: uuid } },
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: uuid } },
        response: {
          200: {
            type: 'object',
            properties: {
              id: uuid,
              status: { type: 'string', enum: ['active', 'disabled'] },
              tenantId: { type: ['string', 'null'] },
              member: { type: 'boolean' },
              roles: { type: 'array', items: { type: 'string' } },
            },
          },
          404: problem,
        },
      },
    },
    async (req, reply) => noStore(reply).send(await internalUser(s, req.params.id, req.query.tenant)),
  );

  app.put<{ Params: { id: string }; Body: { status: 'active' | 'disabled' } }>(
    `${INTERNAL_USER_ROUTE}/status`,
    {
      ...common,
      schema: {
        tags,
        summary: 'Disable (ends every session) or enable a user',
        params: { type: 'object', required: ['id'], properties: { id: uuid } },
        body: body({ status: { type: 'string', enum: ['active', 'disabled'] } }),
        response: { 204: { type: 'null' }, 404: problem },
      },
    },
    async (req, reply) => {
      await setStatus(s, req.params.id, req.body.status, { ...meta(req), caller: req.identity!.sub });
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { after?: string; wait?: number } }>(
    REVOCATION_FEED_PATH,
    {
      ...common,
      schema: {
        tags,
        summary: 'Revocation events after a cursor; `wait` long-polls (ms, at most 25000)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', pattern: '^[0-9]{1,15}$' },
            wait: { type: 'integer', minimum: 0, maximum: MAX_WAIT_MS },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              cursor: { type: 'string' },
              events: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const abort = new AbortController();
      req.raw.once('close', () => abort.abort());
      const page = await s.feed.read(Number(req.query.after ?? '0'), req.query.wait ?? 0, abort.signal);
      return noStore(reply).send({ events: page.events, cursor: String(page.cursor) });
    },
  );
}
