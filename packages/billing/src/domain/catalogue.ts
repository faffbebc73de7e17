import { type EntitlementRecord, FREE_ENTITLEMENT } from '@gatehouse/kit';
import { type Money, money } from './money.ts';

export const PLAN_IDS = ['free', 'standard', 'premium'] as const;
export type PlanId = (typeof PLAN_IDS)[number];

/**
 * What a plan grants: exactly kit's entitlement record (rate-limit tier,
 * seats, message quota and its period, history retention, features), the
 * wire contract every service reads.
 */
export type PlanEntitlements = EntitlementRecord;

export interface Plan {
  readonly id: PlanId;
  readonly name: string;
  /** Price of one period; free is 0. */
  readonly price: Money;
  readonly period: 'month';
  /** Trial days a tenant may take once; 0 when the plan has no trial. */
  readonly trialDays: number;
  readonly entitlements: PlanEntitlements;
}

export interface Catalogue {
  /** Bumped whenever a price or an entitlement changes; a subscription remembers the version it bought. */
  readonly version: number;
  readonly currency: string;
  readonly plans: readonly Plan[];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** The catalogue in force. A new version is a new constant, never an edit of this one's prices. */
export const CATALOGUE_V1: Catalogue = deepFreeze({
  version: 1,
  currency: 'EUR',
  plans: [
    {
      id: 'free',
      name: 'Free',
      price: money(0, 'EUR'),
      period: 'month',
      trialDays: 0,
      // A tenant without a record is on the free plan: the two must be the same entitlements.
      entitlements: { ...FREE_ENTITLEMENT, features: [...FREE_ENTITLEMENT.features] },
    },
    {
      id: 'standard',
      name: 'Standard',
      price: money(1_900, 'EUR'),
      period: 'month',
      trialDays: 14,
      entitlements: {
        tier: 'standard',
        seats: 25,
        messageQuota: 100_000,
        quotaPeriodDays: 30,
        historyRetentionDays: 365,
        features: ['search', 'file-sharing'],
      },
    },
    {
      id: 'premium',
      name: 'Premium',
      price: money(9_900, 'EUR'),
      period: 'month',
      trialDays: 0,
      entitlements: {
        tier: 'premium',
        seats: 250,
        // null: unlimited messages, history kept for ever.
        messageQuota: null,
        quotaPeriodDays: 30,
        historyRetentionDays: null,
        features: ['search', 'file-sharing', 'sso', 'audit-export'],
      },
    },
  ],
});

export function isPlanId(value: string): value is PlanId {
  return (PLAN_IDS as readonly string[]).includes(value);
}

export function planOf(catalogue: Catalogue, id: PlanId): Plan {
  const plan = catalogue.plans.find((p) => p.id === id);
  if (plan === undefined) throw new Error(`catalogue v${catalogue.version} has no plan ${id}`);
  return plan;
}

/** Plans are ordered by price: a higher price is an upgrade (at once), a lower one a downgrade (at period end). */
export function comparePlans(a: Plan, b: Plan): number {
  return a.price.amount - b.price.amount;
}

/** Checks the invariants a catalogue must keep; a broken one stops the service at start. */
export function validateCatalogue(catalogue: Catalogue): string[] {
  const problems: string[] = [];
  for (const id of PLAN_IDS)
    if (!catalogue.plans.some((p) => p.id === id)) problems.push(`plan ${id} is missing`);
  for (const plan of catalogue.plans) {
    if (plan.price.currency !== catalogue.currency)
      problems.push(`plan ${plan.id}: currency ${plan.price.currency} is not ${catalogue.currency}`);
    if (!Number.isSafeInteger(plan.price.amount) || plan.price.amount < 0)
      problems.push(`plan ${plan.id}: price must be a non-negative integer of minor units`);
    const e = plan.entitlements;
    for (const [name, value] of Object.entries({
      seats: e.seats,
      messageQuota: e.messageQuota ?? 1,
      quotaPeriodDays: e.quotaPeriodDays,
      historyRetentionDays: e.historyRetentionDays ?? 1,
    }))
      if (!Number.isSafeInteger(value) || value < 1)
        problems.push(`plan ${plan.id}: ${name} must be a positive integer`);
  }
  const free = catalogue.plans.find((p) => p.id === 'free');
  if (free !== undefined && free.price.amount !== 0) problems.push('plan free must cost 0');
  return problems;
}
