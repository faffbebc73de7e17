import { problemSchema } from '@gatehouse/kit/service';
import type { Invoice } from '../db/invoices.ts';
import type { Usage } from '../domain/billing.ts';
import type { Catalogue, Plan } from '../domain/catalogue.ts';
import type { TenantEntitlements } from '../domain/entitlements.ts';
import { SUBSCRIPTION_STATUSES, type Subscription } from '../domain/subscription.ts';

/** JSON schemas of the API (they are the OpenAPI document) and the mappers to them. */

/** Kit's shared problem schema; the published documents reference it (`#/components/schemas/Problem`). */
export const problem = problemSchema;

export const bearer = [{ bearerAuth: [] }];
/**
 * Tenant and record ids are UUIDs as the identity service issues them; the
 * pattern leaves out the `urn:uuid:` prefix ajv's `uuid` format also takes.
 */
export const uuid = {
  type: 'string',
  format: 'uuid',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
} as const;
const planId = { type: 'string', enum: ['free', 'standard', 'premium'] } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const money = {
  type: 'object',
  description: 'An integer amount of the currency’s minor units (cents), never a float',
  required: ['amount', 'currency'],
  properties: { amount: { type: 'integer' }, currency: { type: 'string', pattern: '^[A-Z]{3}$' } },
} as const;

/** Kit's entitlement record (the wire contract every service reads). */
const entitlementsSchema = {
  type: 'object',
  properties: {
    tier: { type: 'string', enum: ['free', 'standard', 'premium'] },
    seats: { type: 'integer', description: 'Members the tenant may have' },
    messageQuota: {
      type: ['integer', 'null'],
      description: 'Chat messages per quota period; null: unlimited',
    },
    quotaPeriodDays: { type: 'integer' },
    historyRetentionDays: { type: ['integer', 'null'], description: 'null: kept for ever' },
    features: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const planSchema = {
  type: 'object',
  properties: {
    id: planId,
    name: { type: 'string' },
    price: money,
    period: { type: 'string', enum: ['month'] },
    trialDays: { type: 'integer' },
    entitlements: entitlementsSchema,
  },
} as const;

export const catalogueSchema = {
  type: 'object',
  properties: {
    version: { type: 'integer' },
    currency: { type: 'string' },
    plans: { type: 'array', items: planSchema },
  },
} as const;

export const subscriptionSchema = {
  type: ['object', 'null'],
  properties: {
    tenantId: { type: 'string' },
    plan: planId,
    status: { type: 'string', enum: [...SUBSCRIPTION_STATUSES] },
    catalogueVersion: { type: 'integer' },
    currentPeriodStart: time,
    currentPeriodEnd: time,
    cancelAtPeriodEnd: { type: 'boolean' },
    pendingPlan: { type: ['string', 'null'], enum: ['free', 'standard', 'premium', null] },
    graceEndsAt: nullableTime,
    endReason: { type: ['string', 'null'] },
    trialUsed: { type: 'boolean' },
  },
} as const;

export const recordSchema = {
  type: 'object',
  properties: {
    tenantId: { type: 'string' },
    plan: planId,
    status: { type: 'string' },
    ...entitlementsSchema.properties,
    periodEnd: { type: ['integer', 'null'] },
    version: { type: 'integer' },
    updatedAt: { type: 'integer' },
  },
} as const;

export const invoiceSchema = {
  type: 'object',
  properties: {
    id: uuid,
    kind: { type: 'string', enum: ['initial', 'renewal', 'upgrade'] },
    status: { type: 'string', enum: ['open', 'paid', 'void', 'uncollectible'] },
    currency: { type: 'string' },
    total: { type: 'integer', description: 'The sum of the lines, in minor units' },
    amountDue: { type: 'integer' },
    plan: planId,
    periodStart: time,
    periodEnd: time,
    paymentId: { type: ['string', 'null'] },
    failureCode: { type: ['string', 'null'] },
    createdAt: time,
    paidAt: nullableTime,
    lines: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          description: { type: 'string' },
          plan: planId,
          amount: { type: 'integer', description: 'Minor units; negative for a credit' },
          periodStart: time,
          periodEnd: time,
          proration: { type: 'boolean' },
        },
      },
    },
  },
} as const;

export const usageSchema = {
  type: 'object',
  properties: {
    periodStart: time,
    periodEnd: time,
    messages: { type: 'integer' },
    messageQuota: { type: ['integer', 'null'], description: 'null: no quota' },
    remaining: { type: ['integer', 'null'] },
  },
} as const;

/** Kit's `TenantUsage` (the usage contract): a tenant's count with the tenant named. */
export const tenantUsageSchema = {
  ...usageSchema,
  properties: { tenantId: { type: 'string' }, ...usageSchema.properties },
} as const;

export const changeResultSchema = {
  type: 'object',
  properties: {
    subscription: subscriptionSchema,
    invoice: { ...invoiceSchema, type: ['object', 'null'] },
    entitlements: recordSchema,
  },
} as const;

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function planView(plan: Plan) {
  return plan;
}

export function catalogueView(catalogue: Catalogue) {
  return { version: catalogue.version, currency: catalogue.currency, plans: catalogue.plans.map(planView) };
}

export function subscriptionView(sub: Subscription | undefined) {
  if (sub === undefined) return null;
  return {
    tenantId: sub.tenantId,
    plan: sub.planId,
    status: sub.status,
    catalogueVersion: sub.catalogueVersion,
    currentPeriodStart: iso(sub.periodStart),
    currentPeriodEnd: iso(sub.periodEnd),
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
    pendingPlan: sub.pendingPlanId,
    graceEndsAt: isoOrNull(sub.graceEndsAt),
    endReason: sub.endReason,
    trialUsed: sub.trialUsed,
  };
}

export function invoiceView(invoice: Invoice | undefined) {
  if (invoice === undefined) return null;
  return {
    id: invoice.id,
    kind: invoice.kind,
    status: invoice.status,
    currency: invoice.currency,
    total: invoice.total,
    amountDue: invoice.amountDue,
    plan: invoice.planId,
    periodStart: iso(invoice.periodStart),
    periodEnd: iso(invoice.periodEnd),
    paymentId: invoice.paymentId,
    failureCode: invoice.failureCode,
    createdAt: iso(invoice.createdAt),
    paidAt: isoOrNull(invoice.paidAt),
    lines: invoice.lines.map((l) => ({
      description: l.description,
      plan: l.planId,
      amount: l.amount,
      periodStart: iso(l.periodStart),
      periodEnd: iso(l.periodEnd),
      proration: l.proration,
    })),
  };
}

export function usageView(usage: Usage) {
  return { ...usage, periodStart: iso(usage.periodStart), periodEnd: iso(usage.periodEnd) };
}

export function recordView(record: TenantEntitlements) {
  return record;
}
