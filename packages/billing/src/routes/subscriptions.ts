import type { Database } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import { listAudit } from '../db/audit.ts';
import type { BillingService, ChangeResult } from '../domain/billing.ts';
import { actorOf, noStore, ownTenant, type RouteHooks, requireManager } from './http.ts';
import { IDEMPOTENCY_HEADER, idempotent } from './idempotency.ts';
import {
  bearer,
  catalogueSchema,
  catalogueView,
  changeResultSchema,
  invoiceSchema,
  invoiceView,
  problem,
  recordSchema,
  subscriptionSchema,
  subscriptionView,
  usageSchema,
  usageView,
  uuid,
} from './schemas.ts';

type TenantParams = { Params: { tenantId: string } };

const tenantParams = {
  type: 'object',
  required: ['tenantId'],
  // A UUID, as tenants are issued: a free string let text through that the gateway refuses in a
  // path (`/`, `%`, control characters), so the document promised requests no client can make.
  properties: { tenantId: uuid },
} as const;
const idempotencyHeaders = {
  type: 'object',
  properties: {
    [IDEMPOTENCY_HEADER]: {
      type: 'string',
      description: 'Makes the POST safe to retry: the same key answers the first answer (24 h).',
    },
  },
} as const;
const planBody = {
  type: 'object',
  required: ['plan'],
  additionalProperties: false,
  properties: { plan: { type: 'string', minLength: 1, maxLength: 32 }, trial: { type: 'boolean' } },
} as const;
const emptyBody = { type: ['object', 'null'], additionalProperties: false, properties: {} } as const;
const errors = {
  400: problem,
  401: problem,
  402: problem,
  403: problem,
  404: problem,
  409: problem,
  422: problem,
  503: problem,
};

export function subscriptionRoutes(
  app: FastifyInstance,
  billing: BillingService,
  db: Database,
  hooks: RouteHooks,
): void {
  const common = { preHandler: hooks.user };
  const tags = ['subscriptions'];

  app.get(
    '/api/billing/plans',
    {
      schema: { tags: ['plans'], summary: 'The plan catalogue (public)', response: { 200: catalogueSchema } },
    },
    async (_req, reply) =>
      reply.header('cache-control', 'public, max-age=60').send(catalogueView(billing.catalogue)),
  );

  async function view(tenantId: string, result: ChangeResult) {
    return {
      subscription: subscriptionView(result.subscription),
      invoice: invoiceView(result.invoice),
      entitlements: await billing.entitlement(tenantId),
    };
  }

  app.get<TenantParams>(
    '/api/billing/tenants/:tenantId/subscription',
    {
      ...common,
      schema: {
        tags,
        summary: "The tenant's subscription and entitlements (any member)",
        security: bearer,
        params: tenantParams,
        response: {
          200: {
            type: 'object',
            properties: { subscription: subscriptionSchema, entitlements: recordSchema },
          },
          404: problem,
        },
      },
    },
    async (req, reply) => {
      const { tenantId } = req.params;
      ownTenant(req, tenantId);
      return noStore(reply).send({
        subscription: subscriptionView(await billing.subscription(tenantId)),
        entitlements: await billing.entitlement(tenantId),
      });
    },
  );

  app.post<TenantParams & { Body: { plan: string; trial?: boolean } }>(
    '/api/billing/tenants/:tenantId/subscription',
    {
      ...common,
      schema: {
        tags,
        summary: 'Subscribe to a plan: the first period is charged at once (or a trial starts)',
        security: bearer,
        params: tenantParams,
        headers: idempotencyHeaders,
        body: planBody,
        response: { 201: changeResultSchema, ...errors },
      },
    },
    async (req, reply) => {
      const { tenantId } = req.params;
      requireManager(ownTenant(req, tenantId));
      return idempotent(db, req, noStore(reply), async () => {
        const result = await billing.subscribe(actorOf(req), tenantId, req.body.plan, {
          trial: req.body.trial === true,
        });
        return { status: 201, body: await view(tenantId, result) };
      });
    },
  );

  app.post<TenantParams & { Body: { plan: string } }>(
    '/api/billing/tenants/:tenantId/subscription/change',
    {
      ...common,
      schema: {
        tags,
        summary: 'Change plan: an upgrade applies at once with a prorated charge, a downgrade at period end',
        security: bearer,
        params: tenantParams,
        headers: idempotencyHeaders,
        body: { ...planBody, properties: { plan: planBody.properties.plan } },
        response: { 200: changeResultSchema, ...errors },
      },
    },
    async (req, reply) => {
      const { tenantId } = req.params;
      requireManager(ownTenant(req, tenantId));
      return idempotent(db, req, noStore(reply), async () => ({
        status: 200,
        body: await view(tenantId, await billing.changePlan(actorOf(req), tenantId, req.body.plan)),
      }));
    },
  );

  for (const [action, summary] of [
    ['cancel', 'Cancel at the end of the current period'],
    ['resume', 'Withdraw a scheduled cancellation or downgrade, before the period ends'],
  ] as const) {
    app.post<TenantParams>(
      `/api/billing/tenants/:tenantId/subscription/${action}`,
      {
        ...common,
        schema: {
          tags,
          summary,
          security: bearer,
          params: tenantParams,
          headers: idempotencyHeaders,
          body: emptyBody,
          response: { 200: changeResultSchema, ...errors },
        },
      },
      async (req, reply) => {
        const { tenantId } = req.params;
        requireManager(ownTenant(req, tenantId));
        return idempotent(db, req, noStore(reply), async () => {
          const result =
            action === 'cancel'
              ? await billing.cancel(actorOf(req), tenantId)
              : await billing.resume(actorOf(req), tenantId);
          return { status: 200, body: await view(tenantId, result) };
        });
      },
    );
  }

  app.get<TenantParams>(
    '/api/billing/tenants/:tenantId/invoices',
    {
      ...common,
      schema: {
        tags: ['invoices'],
        summary: "The tenant's invoices, newest first, with their lines (proration shown)",
        security: bearer,
        params: tenantParams,
        response: {
          200: { type: 'object', properties: { invoices: { type: 'array', items: invoiceSchema } } },
          404: problem,
        },
      },
    },
    async (req, reply) => {
      const { tenantId } = req.params;
      ownTenant(req, tenantId);
      return noStore(reply).send({ invoices: (await billing.invoices(tenantId)).map(invoiceView) });
    },
  );

  app.get<TenantParams>(
    '/api/billing/tenants/:tenantId/usage',
    {
      ...common,
      schema: {
        tags: ['usage'],
        summary: 'Messages sent this billing period, with the plan’s quota',
        security: bearer,
        params: tenantParams,
        response: { 200: usageSchema, 404: problem },
      },
    },
    async (req, reply) => {
      const { tenantId } = req.params;
      ownTenant(req, tenantId);
      return noStore(reply).send(usageView(await billing.usage(tenantId)));
    },
  );

  app.get<TenantParams>(
    '/api/billing/tenants/:tenantId/audit',
    {
      ...common,
      schema: {
        tags: ['audit'],
        summary: "Every change of the tenant's billing: who, what, when, from which request (owner or admin)",
        security: bearer,
        params: tenantParams,
        response: {
          200: {
            type: 'object',
            properties: {
              entries: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    at: { type: 'string', format: 'date-time' },
                    actor: { type: 'string' },
                    action: { type: 'string' },
                    requestId: { type: ['string', 'null'] },
                    detail: { type: 'object', additionalProperties: true },
                  },
                },
              },
            },
          },
          403: problem,
          404: problem,
        },
      },
    },
    async (req, reply) => {
      const { tenantId } = req.params;
      requireManager(ownTenant(req, tenantId));
      const entries = await listAudit(db, tenantId);
      return noStore(reply).send({
        entries: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
      });
    },
  );
}
