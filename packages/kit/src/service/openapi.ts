import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export interface OpenApiOptions {
  /** The public path prefix: `/api/chat` serves `/api/chat/openapi.json` and `/api/chat/docs`. */
  readonly basePath: string;
  readonly title: string;
  readonly description: string;
  readonly publicUrl: string;
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly version?: string;
}

/**
 * The routes and their schemas are the OpenAPI document: served at
 * `<basePath>/openapi.json` and as an interactive page at `<basePath>/docs`
 * (its assets ship inside @fastify/swagger-ui; nothing is loaded from a CDN).
 * Register before the routes, so they are collected.
 */
export async function registerOpenApi(app: FastifyInstance, options: OpenApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.title, version: options.version ?? '0.1.0', description: options.description },
      servers: [{ url: options.publicUrl }],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (at+jwt)' } },
      },
      tags: options.tags.map((t) => ({ ...t })),
    },
  });
  await app.register(swaggerUi, { routePrefix: `${options.basePath}/docs`, staticCSP: true });
  app.get(`${options.basePath}/openapi.json`, { schema: { hide: true } }, async (_req, reply) =>
    reply.header('cache-control', 'no-cache').send(app.swagger()),
  );
}
