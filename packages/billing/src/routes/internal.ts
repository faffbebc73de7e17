import {
  TENANT_USAGE_ROUTE,
  USAGE_REPORT_MAX_MESSAGES,
  USAGE_REPORT_MAX_TENANTS,
  USAGE_REPORTS_PATH,
  USAGE_TENANT_ID_MAX_LENGTH,
  type UsageReportBatch,
} from '@gatehouse/kit';
import type { Database } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import type { BillingService } from '../domain/billing.ts';
import { billError } from '../errors.ts';
import { noStore, type RouteHooks } from './http.ts';
import { IDEMPOTENCY_HEADER, idempotent, idempotentOnce } from './idempotency.ts';
import { problem, recordSchema, tenantUsageSchema, usageSchema, usageView } from './schemas.ts';

const tenantId = { type: 'string', minLength: 1, maxLength: USAGE_TENANT_ID_MAX_LENGTH } as const;

/** For the gateway and platform services only (never routed publicly): entitlement reads, usage reports. */
export function internalRoutes(
  app: FastifyInstance,
  billing: BillingService,
  db: Database,
  hooks: RouteHooks,
): void {
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
        summary:
          "One tenant's messages (chat reports in batches, POST /internal/usage/reports); answers the period's count",
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
      idempotent(db, req, noStore(reply), async () => ({
        status: 200,
        body: usageView(await billing.recordMessages(req.body.tenantId, req.body.messages)),
      })),
  );

  app.post<{ Body: UsageReportBatch }>(
    USAGE_REPORTS_PATH,
    {
      ...common,
      schema: {
        tags,
        summary:
          'A batch of usage reports (chat’s messages per tenant), counted exactly once per Idempotency-Key',
        // Required, but checked by the handler, so that its absence answers BILL_IDEMPOTENCY_KEY_INVALID.
        headers: {
          type: 'object',
          properties: {
            [IDEMPOTENCY_HEADER]: {
              type: 'string',
              description:
                'Required. Names the batch: sent again with its key, it is not counted again (the first answer is replayed)',
            },
          },
        },
        body: {
          type: 'object',
          required: ['reports'],
          additionalProperties: false,
          properties: {
            reports: {
              type: 'array',
              minItems: 1,
              maxItems: USAGE_REPORT_MAX_TENANTS,
              items: {
                type: 'object',
                required: ['tenantId', 'messages'],
                additionalProperties: false,
                properties: {
                  tenantId,
                  messages: { type: 'integer', minimum: 1, maximum: USAGE_REPORT_MAX_MESSAGES },
                },
              },
            },
          },
        },
        response: {
          200: { type: 'object', properties: { usage: { type: 'array', items: tenantUsageSchema } } },
          400: problem,
          403: problem,
          409: problem,
          422: problem,
        },
      },
    },
    async (req, reply) => {
      const tenants = new Set(req.body.reports.map((r) => r.tenantId));
      if (tenants.size !== req.body.reports.length)
        throw billError('BILL_VALIDATION', 'a tenant appears more than once in the batch');
      return idempotentOnce(db, req, noStore(reply), async (tx) => {
        const usage = await billing.recordReports(tx, req.body.reports);
        return {
          status: 200,
          body: { usage: usage.map((u) => ({ tenantId: u.tenantId, ...usageView(u) })) },
        };
      });
    },
  );

  app.get<{ Params: { tenantId: string } }>(
    TENANT_USAGE_ROUTE,
    {
      ...common,
      schema: {
        tags,
        summary: "A tenant's message count this period, with the plan's quota",
        params: { type: 'object', required: ['tenantId'], properties: { tenantId } },
        response: { 200: tenantUsageSchema, 403: problem },
      },
    },
    async (req, reply) => {
      const { tenantId } = req.params;
      return noStore(reply).send({ tenantId, ...usageView(await billing.usage(tenantId)) });
    },
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
