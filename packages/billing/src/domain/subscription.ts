import { billError } from '../errors.ts';
import { type Catalogue, comparePlans, type Plan, type PlanId, planOf } from './catalogue.ts';
import { addMonths, days } from './clock.ts';
import { draftInvoice, type InvoiceDraft } from './invoice.ts';
import { prorationLines } from './proration.ts';

/**
 * The states payment providers use (Stripe's names):
 * - incomplete: subscribed, the first payment has not succeeded yet (no paid entitlements)
 * - trialing: in the free trial; the first charge comes at the trial's end
 * - active: paid for the current period
 * - past_due: a renewal payment failed; the plan still applies until the grace period ends
 * - canceled: ended (at period end, after the grace period, or an expired incomplete); free entitlements
 */
export const SUBSCRIPTION_STATUSES = ['incomplete', 'trialing', 'active', 'past_due', 'canceled'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export type EndReason =
  | 'canceled_at_period_end'
  | 'downgraded_to_free'
  | 'grace_expired'
  | 'incomplete_expired';

export interface Subscription {
  readonly tenantId: string;
  readonly planId: PlanId;
  readonly catalogueVersion: number;
  readonly status: SubscriptionStatus;
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly cancelAtPeriodEnd: boolean;
  /** A downgrade waiting for the period's end. */
  readonly pendingPlanId: PlanId | null;
  /** past_due and incomplete: when the subscription ends unless paid. */
  readonly graceEndsAt: number | null;
  readonly trialUsed: boolean;
  readonly endReason: EndReason | null;
  /** Bumped on every change (optimistic checks, ordering of entitlement records). */
  readonly version: number;
}

export interface Policy {
  readonly catalogue: Catalogue;
  /** past_due → canceled after this long without a successful payment. */
  readonly graceMs: number;
  /** incomplete → canceled after this long (Stripe: 23 hours). */
  readonly incompleteMs: number;
}

/**
 * What a command decides. With an invoice, the caller charges it and keeps
 * `onPaid` when the payment succeeded (or is still pending) and `onFailed`
 * when it was declined; without one, `onPaid` is the result.
 */
export interface Decision {
  readonly action: string;
  readonly invoice?: InvoiceDraft;
  readonly onPaid: Subscription;
  readonly onFailed: Subscription;
  /** A declined payment refuses the command (an upgrade) rather than recording a new state. */
  readonly refuseIfDeclined: boolean;
}

function bump(sub: Subscription, patch: Partial<Subscription>): Subscription {
  return { ...sub, ...patch, version: sub.version + 1 };
}

function settled(action: string, next: Subscription): Decision {
  return { action, onPaid: next, onFailed: next, refuseIfDeclined: false };
}

/** The subscription still grants its plan (and may be changed). */
export function isLive(sub: Subscription | undefined): sub is Subscription {
  return sub !== undefined && sub.status !== 'canceled';
}

/** The plan whose entitlements apply now: free unless paid for (or in trial, or within grace). */
export function effectivePlanId(sub: Subscription | undefined): PlanId {
  if (sub === undefined) return 'free';
  return sub.status === 'active' || sub.status === 'trialing' || sub.status === 'past_due'
    ? sub.planId
    : 'free';
}

export function subscribe(
  existing: Subscription | undefined,
  tenantId: string,
  plan: Plan,
  now: number,
  policy: Policy,
  options: { trial?: boolean } = {},
): Decision {
  if (existing !== undefined && existing.status !== 'canceled') throw billError('BILL_ALREADY_SUBSCRIBED');
  if (plan.price.amount === 0) throw billError('BILL_FREE_PLAN');
  const base = {
    tenantId,
    planId: plan.id,
    catalogueVersion: policy.catalogue.version,
    periodStart: now,
    cancelAtPeriodEnd: false,
    pendingPlanId: null,
    endReason: null,
    version: (existing?.version ?? 0) + 1,
  };
  if (options.trial === true) {
    if (plan.trialDays <= 0 || existing?.trialUsed === true) throw billError('BILL_TRIAL_UNAVAILABLE');
    const trialing: Subscription = {
      ...base,
      status: 'trialing',
      periodEnd: now + days(plan.trialDays),
      graceEndsAt: null,
      trialUsed: true,
    };
    return settled('subscription.trial_started', trialing);
  }
  const periodEnd = addMonths(now, 1);
  const invoice = draftInvoice(
    'initial',
    plan.price.currency,
    [
      {
        description: `${plan.name} plan`,
        planId: plan.id,
        amount: plan.price.amount,
        periodStart: now,
        periodEnd,
        proration: false,
      },
    ],
    { planId: plan.id, periodStart: now, periodEnd },
  );
  const common = { ...base, periodEnd, trialUsed: existing?.trialUsed ?? false };
  return {
    action: 'subscription.created',
    invoice,
    onPaid: { ...common, status: 'active', graceEndsAt: null },
    onFailed: { ...common, status: 'incomplete', graceEndsAt: now + policy.incompleteMs },
    refuseIfDeclined: false,
  };
}

/**
 * A higher price applies at once with a prorated charge (refused, with nothing
 * changed, when the payment is declined); a lower one at the period's end;
 * the current plan again withdraws a pending downgrade.
 */
export function changePlan(sub: Subscription | undefined, to: Plan, now: number, policy: Policy): Decision {
  if (!isLive(sub)) throw billError('BILL_NO_SUBSCRIPTION');
  if (sub.status === 'past_due' || sub.status === 'incomplete')
    throw billError('BILL_SUBSCRIPTION_NOT_ACTIVE');
  const from = planOf(policy.catalogue, sub.planId);
  if (to.id === sub.planId) {
    if (sub.pendingPlanId === null) throw billError('BILL_PLAN_UNCHANGED');
    return settled('subscription.downgrade_withdrawn', bump(sub, { pendingPlanId: null }));
  }
  if (comparePlans(to, from) < 0 || to.price.amount === 0) {
    if (sub.pendingPlanId === to.id) throw billError('BILL_PLAN_UNCHANGED');
    return settled('subscription.downgrade_scheduled', bump(sub, { pendingPlanId: to.id }));
  }
  const upgraded = bump(sub, {
    planId: to.id,
    catalogueVersion: policy.catalogue.version,
    pendingPlanId: null,
    cancelAtPeriodEnd: false,
  });
  // A trial is not paid for: the new plan simply applies for the rest of it.
  if (sub.status === 'trialing') return settled('subscription.upgraded', upgraded);
  const lines = prorationLines({ from, to, periodStart: sub.periodStart, periodEnd: sub.periodEnd, at: now });
  const invoice = draftInvoice('upgrade', to.price.currency, lines, {
    planId: to.id,
    periodStart: Math.min(Math.max(now, sub.periodStart), sub.periodEnd),
    periodEnd: sub.periodEnd,
  });
  return {
    action: 'subscription.upgraded',
    invoice,
    onPaid: upgraded,
    onFailed: sub,
    refuseIfDeclined: true,
  };
}

export function cancel(sub: Subscription | undefined): Decision {
  if (!isLive(sub)) throw billError('BILL_NO_SUBSCRIPTION');
  if (sub.cancelAtPeriodEnd) return settled('subscription.unchanged', sub);
  return settled('subscription.cancel_scheduled', bump(sub, { cancelAtPeriodEnd: true }));
}

/** Withdraws a scheduled cancellation or downgrade; too late once the period has ended. */
export function resume(sub: Subscription | undefined, now: number): Decision {
  if (sub === undefined) throw billError('BILL_NO_SUBSCRIPTION');
  if (sub.status === 'canceled' || now >= sub.periodEnd) throw billError('BILL_SUBSCRIPTION_ENDED');
  if (!sub.cancelAtPeriodEnd && sub.pendingPlanId === null) return settled('subscription.unchanged', sub);
  return settled('subscription.resumed', bump(sub, { cancelAtPeriodEnd: false, pendingPlanId: null }));
}

function end(sub: Subscription, reason: EndReason): Decision {
  return settled(
    `subscription.ended.${reason}`,
    bump(sub, {
      status: 'canceled',
      endReason: reason,
      graceEndsAt: null,
      cancelAtPeriodEnd: false,
      pendingPlanId: null,
    }),
  );
}

/**
 * The next step that time has made due, or undefined. The caller applies it
 * and asks again (a clock that jumped months ahead rolls period by period).
 */
export function nextDueStep(
  sub: Subscription | undefined,
  now: number,
  policy: Policy,
): Decision | undefined {
  if (!isLive(sub)) return undefined;
  if (sub.status === 'incomplete') {
    return sub.graceEndsAt !== null && now >= sub.graceEndsAt ? end(sub, 'incomplete_expired') : undefined;
  }
  if (sub.status === 'past_due') {
    return sub.graceEndsAt !== null && now >= sub.graceEndsAt ? end(sub, 'grace_expired') : undefined;
  }
  if (now < sub.periodEnd) return undefined;
  if (sub.cancelAtPeriodEnd) return end(sub, 'canceled_at_period_end');
  if (sub.pendingPlanId === 'free') return end(sub, 'downgraded_to_free');
  const plan = planOf(policy.catalogue, sub.pendingPlanId ?? sub.planId);
  const periodStart = sub.periodEnd;
  const periodEnd = addMonths(periodStart, 1);
  const invoice = draftInvoice(
    'renewal',
    plan.price.currency,
    [
      {
        description: `${plan.name} plan`,
        planId: plan.id,
        amount: plan.price.amount,
        periodStart,
        periodEnd,
        proration: false,
      },
    ],
    { planId: plan.id, periodStart, periodEnd },
  );
  const renewed = {
    planId: plan.id,
    catalogueVersion: policy.catalogue.version,
    periodStart,
    periodEnd,
    pendingPlanId: null,
  };
  return {
    action: sub.pendingPlanId !== null ? 'subscription.downgraded' : 'subscription.renewed',
    invoice,
    onPaid: bump(sub, { ...renewed, status: 'active', graceEndsAt: null }),
    onFailed: bump(sub, { ...renewed, status: 'past_due', graceEndsAt: periodStart + policy.graceMs }),
    refuseIfDeclined: false,
  };
}

/** When `nextDueStep` will next have something to do (for the scheduler's index). */
export function nextDueAt(sub: Subscription): number | null {
  if (sub.status === 'canceled') return null;
  if (sub.status === 'incomplete' || sub.status === 'past_due') return sub.graceEndsAt;
  return sub.periodEnd;
}

export interface PaidInvoice {
  readonly kind: InvoiceDraft['kind'];
  readonly planId: PlanId;
  readonly periodStart: number;
  readonly periodEnd: number;
}

/**
 * An invoice's payment settled later (a webhook): act on the subscription as
 * it is now, whatever order the events came in. A paid invoice for a period
 * that is not over restores the plan it paid for; a failed one puts an active
 * subscription past due. Returns undefined when nothing changes.
 */
export function paymentSettled(
  sub: Subscription | undefined,
  invoice: PaidInvoice,
  outcome: 'succeeded' | 'failed',
  now: number,
  policy: Policy,
): Decision | undefined {
  if (sub === undefined) return undefined;
  if (outcome === 'succeeded') {
    const covers = sub.periodStart === invoice.periodStart || invoice.kind === 'upgrade';
    const recoverable =
      sub.status === 'incomplete' ||
      sub.status === 'past_due' ||
      (sub.status === 'canceled' &&
        (sub.endReason === 'grace_expired' || sub.endReason === 'incomplete_expired'));
    if (!recoverable || invoice.periodEnd <= now || !covers) return undefined;
    return settled(
      'subscription.payment_recovered',
      bump(sub, {
        status: 'active',
        planId: invoice.kind === 'upgrade' ? sub.planId : invoice.planId,
        graceEndsAt: null,
        endReason: null,
        periodStart: invoice.kind === 'upgrade' ? sub.periodStart : invoice.periodStart,
        periodEnd: invoice.periodEnd,
      }),
    );
  }
  if (sub.status !== 'active' || sub.periodStart !== invoice.periodStart || invoice.kind === 'upgrade')
    return undefined;
  return settled(
    'subscription.payment_failed',
    bump(sub, { status: 'past_due', graceEndsAt: now + policy.graceMs }),
  );
}
