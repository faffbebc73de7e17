import type { EntitlementRecord } from '@gatehouse/kit';
import { type Catalogue, type PlanId, planOf } from './catalogue.ts';
import { effectivePlanId, type Subscription, type SubscriptionStatus } from './subscription.ts';

/**
 * A tenant's entitlements as billing writes them: kit's entitlement record
 * (what every service reads from `entitlement:<tenantId>`) plus where it came
 * from. `version` only grows, so a writer never puts an older record over a
 * newer one.
 */
export interface TenantEntitlements extends EntitlementRecord {
  readonly tenantId: string;
  readonly plan: PlanId;
  readonly status: SubscriptionStatus | 'none';
  /** End of the current billing period (ms); null without a subscription. */
  readonly periodEnd: number | null;
  readonly version: number;
  readonly updatedAt: number;
}

export function entitlementRecordFor(
  tenantId: string,
  sub: Subscription | undefined,
  catalogue: Catalogue,
  now: number,
): TenantEntitlements {
  const plan = planOf(catalogue, effectivePlanId(sub));
  return {
    ...plan.entitlements,
    features: [...plan.entitlements.features],
    tenantId,
    plan: plan.id,
    status: sub?.status ?? 'none',
    periodEnd: sub?.periodEnd ?? null,
    version: sub?.version ?? 0,
    updatedAt: now,
  };
}
