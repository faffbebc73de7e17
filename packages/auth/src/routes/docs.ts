import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { AuthConfig } from '../config.ts';

/**
 * The routes and their schemas are the OpenAPI document: served at
 * /api/auth/openapi.json and as an interactive page at /api/auth/docs (its
 * assets ship inside @fastify/swagger-ui; nothing is loaded from a CDN).
 */
export async function registerDocs(app: FastifyInstance, config: AuthConfig): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse identity service',
        version: '0.1.0',
        description:
          'Users, tenants, roles and tokens. Reached through the gateway at /api/auth. Errors are RFC 9457 ' +
          'problem documents with AUTH_* codes (docs/errors.md).',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (at+jwt)' } },
      },
      tags: [
        { name: 'session', description: 'Sign-up, sign-in, refresh, sign-out' },
        { name: 'account', description: 'The signed-in user, password, email' },
        { name: 'tenants', description: 'Tenants, members, invitations' },
        { name: 'keys', description: 'Token verification keys' },
        { name: 'internal', description: 'For the gateway and platform services only (not routed publicly)' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/auth/docs', staticCSP: true });
  app.get('/api/auth/openapi.json', { schema: { hide: true } }, async (_req, reply) =>
    reply.header('cache-control', 'no-cache').send(app.swagger()),
  );
}
