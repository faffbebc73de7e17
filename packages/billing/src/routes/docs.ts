import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The routes and their schemas are the OpenAPI document: served at
 * /api/billing/openapi.json and as a page at /api/billing/docs (assets ship
 * inside @fastify/swagger-ui; nothing is loaded from a CDN).
 */
export async function registerDocs(app: FastifyInstance, publicUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse billing service',
        version: '0.1.0',
        description:
          'Plans, subscriptions, invoices, usage and entitlements. Reached through the gateway at /api/billing. ' +
          'Money is integer minor units with a currency. Every POST accepts Idempotency-Key. Errors are RFC 9457 ' +
          'problem documents with BILL_* codes (docs/errors.md).',
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (at+jwt)' } },
      },
      tags: [
        { name: 'plans', description: 'The plan catalogue' },
        { name: 'subscriptions', description: "A tenant's subscription: subscribe, change, cancel, resume" },
        { name: 'invoices', description: 'Invoices with their line items' },
        { name: 'usage', description: 'Metered usage against the plan' },
        { name: 'audit', description: 'Who changed what, when' },
        { name: 'webhooks', description: 'Payment provider events' },
        { name: 'internal', description: 'For the gateway and platform services only (not routed publicly)' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/billing/docs', staticCSP: true });
  app.get('/api/billing/openapi.json', { schema: { hide: true } }, async (_req, reply) =>
    reply.header('cache-control', 'no-cache').send(app.swagger()),
  );
}
