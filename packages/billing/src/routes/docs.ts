import { type IdentityHook, registerApiDocuments } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';

/**
 * The billing service's OpenAPI documents (kit's registerApiDocuments): the
 * public one at /api/billing/openapi.json and /api/billing/docs, the internal
 * one at /internal/openapi.json for platform callers.
 */
export async function registerDocs(
  app: FastifyInstance,
  publicUrl: string,
  internalAccess: IdentityHook,
): Promise<void> {
  await registerApiDocuments(app, {
    publicPrefix: '/api/billing',
    publicUrl,
    internalAccess,
    info: {
      title: 'Gatehouse billing service',
      version: '0.1.0',
      description:
        'Plans, subscriptions, invoices, usage and entitlements, scoped to the tenant of your token. Reached through ' +
        'the gateway at /api/billing. Money is integer minor units with a currency. Every POST accepts ' +
        'Idempotency-Key. Errors are RFC 9457 problem documents with BILL_* codes (docs/errors.md); the lifecycle ' +
        'is in docs/billing.md.',
    },
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (at+jwt)' } },
    tags: [
      { name: 'plans', description: 'The plan catalogue' },
      { name: 'subscriptions', description: "A tenant's subscription: subscribe, change, cancel, resume" },
      { name: 'invoices', description: 'Invoices with their line items' },
      { name: 'usage', description: 'Metered usage against the plan' },
      { name: 'audit', description: 'Who changed what, when' },
      { name: 'webhooks', description: 'Payment provider events' },
      { name: 'internal', description: 'For the gateway and platform services only (not routed publicly)' },
    ],
  });
}
