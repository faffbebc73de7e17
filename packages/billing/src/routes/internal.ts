import type { FastifyInstance } from 'fastify';
import type { BillingService } from '../domain/billing.ts';
import { billError } from '../errors.ts';
import { noStore, type RouteHooks } from './http.ts';
import { problem, recordSchema, usageSchema, usageView } from './schemas.ts';

const tenantId = { type: 'string', minLength: 1, maxLength: 64 } as const;

/** For the gateway and platform services only (never routed publicly): entitlement reads, usage reports. */
export function internalRoutes(app: FastifyInstance, billing: BillingService, hooks: RouteHooks): void {
  const common = { preHandler: hooks.platform };
  const tags = ['internal'];

  app.get<{ Params: { tenantId: string } }>(
    '/internal/entitlements/:tenantId',
    {
      ...common,
      schema: {
        tags,
        summary: "A tenant's entitlement record (free when it has none)",
        params: { type: 'object', required: ['tenantId'], properties: { tenantId } },
        response: { 200: recordSchema, 403: problem },
      },
    },
    async (req, reply) => noStore(reply).send(await billing.entitlement(req.params.tenantId)),
  );

  app.post<{ Body: { tenantId: string; messages: number } }>(
    '/internal/usage/messages',
    {
      ...common,
      schema: {
        tags,
        summary: 'Chat reports messages sent; answers the period’s count against the quota',
        body: {
          type: 'object',
          required: ['tenantId', 'messages'],
          additionalProperties: false,
          properties: { tenantId, messages: { type: 'integer', minimum: 1, maximum: 10_000 } },
        },
        response: { 200: usageSchema, 403: problem },
      },
    },
    async (req, reply) =>
      noStore(reply).send(usageView(await billing.recordMessages(req.body.tenantId, req.body.messages))),
  );

  app.get<{ Params: { tenantId: string }; Querystring: { messages?: number } }>(
    '/internal/usage/:tenantId/check',
    {
      ...common,
      schema: {
        tags,
        summary: 'May the tenant send this many more messages this period? 429 BILL_QUOTA_EXCEEDED when not',
        params: { type: 'object', required: ['tenantId'], properties: { tenantId } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { messages: { type: 'integer', minimum: 1, maximum: 10_000 } },
        },
        response: { 200: usageSchema, 403: problem, 429: problem },
      },
    },
    async (req, reply) => {
      const usage = await billing.usage(req.params.tenantId);
      if (usage.messageQuota !== null && usage.messages + (req.query.messages ?? 1) > usage.messageQuota)
        throw billError(
          'BILL_QUOTA_EXCEEDED',
          `${usage.messages} of ${usage.messageQuota} messages used this period`,
        );
      return noStore(reply).send(usageView(usage));
    },
  );
}
