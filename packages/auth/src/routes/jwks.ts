import type { FastifyInstance } from 'fastify';
import type { AuthServices } from '../domain/services.ts';

/** The public keys of access tokens, at the well-known path and under the public prefix. */
export function jwksRoutes(app: FastifyInstance, s: AuthServices): void {
  const schema = {
    tags: ['keys'],
    summary: 'JSON Web Key Set: the public keys that verify access tokens',
    response: {
      200: {
        type: 'object',
        properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } },
      },
    },
  };
  const handler = async (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('cache-control', 'public, max-age=300').send(s.keys.jwks());
  app.get('/.well-known/jwks.json', { schema: { ...schema, hide: true } }, handler);
  app.get('/api/auth/.well-known/jwks.json', { schema }, handler);
}
