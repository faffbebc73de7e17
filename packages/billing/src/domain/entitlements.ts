import { type Catalogue, type PlanId, planOf, type RateLimitTier } from './catalogue.ts';
import { effectivePlanId, type Subscription, type SubscriptionStatus } from './subscription.ts';

/**
 * A tenant's entitlements as every service reads them (the record written to
 * `entitlement:<tenantId>`). `version` only grows, so a reader that receives
 * two records out of order keeps the newer one.
 */
export interface EntitlementRecord {
  readonly tenantId: string;
  readonly tier: RateLimitTier;
  readonly plan: PlanId;
  readonly status: SubscriptionStatus | 'none';
  readonly seats: number;
  readonly messageQuota: number;
  readonly historyDays: number;
  readonly features: Readonly<Record<string, boolean>>;
  /** End of the current billing period (ms), the window of the message quota; null without a subscription. */
  readonly periodEnd: number | null;
  readonly version: number;
  readonly updatedAt: number;
}

export function entitlementRecordFor(
  tenantId: string,
  sub: Subscription | undefined,
  catalogue: Catalogue,
  now: number,
): EntitlementRecord {
  const plan = planOf(catalogue, effectivePlanId(sub));
  return {
    tenantId,
    tier: plan.entitlements.tier,
    plan: plan.id,
    status: sub?.status ?? 'none',
    seats: plan.entitlements.seats,
    messageQuota: plan.entitlements.messageQuota,
    historyDays: plan.entitlements.historyDays,
    features: plan.entitlements.features,
    periodEnd: sub?.periodEnd ?? null,
    version: sub?.version ?? 0,
    updatedAt: now,
  };
}
