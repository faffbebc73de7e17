import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FREE_ENTITLEMENT } from '@gatehouse/kit';
import { CATALOGUE_V1, planOf, validateCatalogue } from '../src/domain/catalogue.ts';
import { addMonths, days } from '../src/domain/clock.ts';
import { entitlementRecordFor } from '../src/domain/entitlements.ts';
import {
  cancel,
  changePlan,
  type Decision,
  nextDueAt,
  nextDueStep,
  type Policy,
  paymentSettled,
  resume,
  type Subscription,
  subscribe,
} from '../src/domain/subscription.ts';
import { ManualClock } from './manual-clock.ts';

const policy: Policy = { catalogue: CATALOGUE_V1, graceMs: days(7), incompleteMs: 23 * 3_600_000 };
const standard = planOf(CATALOGUE_V1, 'standard');
const premium = planOf(CATALOGUE_V1, 'premium');
const free = planOf(CATALOGUE_V1, 'free');

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

function paid(d: Decision): Subscription {
  return d.onPaid;
}

describe('the catalogue', () => {
  it('is valid, priced in integer minor units of one currency, free first and frozen', () => {
    assert.deepEqual(validateCatalogue(CATALOGUE_V1), []);
    assert.equal(free.price.amount, 0);
    assert.ok(Object.isFrozen(premium.entitlements.features));
    assert.deepEqual(free.entitlements, FREE_ENTITLEMENT, 'no record and the free plan are the same');
    assert.throws(() => {
      (standard.price as { amount: number }).amount = 1;
    }, TypeError);
  });

  it('reports every broken rule at once', () => {
    const broken = {
      version: 2,
      currency: 'EUR',
      plans: [
        { ...free, price: { amount: 5, currency: 'EUR' } },
        {
          ...standard,
          price: { amount: 1.5, currency: 'USD' },
          entitlements: { ...standard.entitlements, seats: 0 },
        },
      ],
    };
    const problems = validateCatalogue(broken);
    assert.ok(problems.includes('plan premium is missing'));
    assert.ok(problems.includes('plan free must cost 0'));
    assert.ok(problems.some((p) => p.includes('currency USD')));
    assert.ok(problems.some((p) => p.includes('non-negative integer')));
    assert.ok(problems.some((p) => p.includes('seats')));
  });
});

describe('the subscription state machine', () => {
  it('subscribes: active once paid, incomplete when declined; free and a second subscription are refused', () => {
    const clock = new ManualClock();
    const d = subscribe(undefined, 't1', standard, clock.now(), policy);
    assert.equal(d.invoice?.total, 1_900);
    assert.equal(d.onPaid.status, 'active');
    assert.equal(d.onPaid.periodEnd, addMonths(clock.now(), 1));
    assert.equal(d.onFailed.status, 'incomplete');
    assert.equal(
      code(() => subscribe(undefined, 't1', free, clock.now(), policy)),
      'BILL_FREE_PLAN',
    );
    assert.equal(
      code(() => subscribe(d.onPaid, 't1', premium, clock.now(), policy)),
      'BILL_ALREADY_SUBSCRIBED',
    );
  });

  it('an incomplete subscription expires after its window; a late payment for a current period restores it', () => {
    const clock = new ManualClock();
    const sub = subscribe(undefined, 't1', standard, clock.now(), policy).onFailed;
    assert.equal(nextDueStep(sub, clock.now(), policy), undefined);
    clock.advance(policy.incompleteMs);
    const ended = paid(nextDueStep(sub, clock.now(), policy)!);
    assert.equal(ended.status, 'canceled');
    assert.equal(ended.endReason, 'incomplete_expired');
    const invoice = {
      kind: 'initial' as const,
      planId: 'standard' as const,
      periodStart: sub.periodStart,
      periodEnd: sub.periodEnd,
    };
    const back = paid(paymentSettled(ended, invoice, 'succeeded', clock.now(), policy)!);
    assert.equal(back.status, 'active');
    assert.equal(
      paymentSettled(back, invoice, 'succeeded', clock.now(), policy),
      undefined,
      'a duplicate changes nothing',
    );
  });

  it('upgrades at once with a prorated invoice; a declined upgrade changes nothing', () => {
    const clock = new ManualClock('2026-04-01T00:00:00Z');
    const sub = paid(subscribe(undefined, 't1', standard, clock.now(), policy));
    clock.set('2026-04-16T00:00:00Z');
    const d = changePlan(sub, premium, clock.now(), policy);
    assert.equal(d.onPaid.planId, 'premium');
    assert.equal(d.onFailed, sub);
    assert.equal(d.refuseIfDeclined, true);
    assert.equal(d.invoice?.kind, 'upgrade');
    assert.deepEqual(
      d.invoice?.lines.map((l) => l.amount),
      [-950, 4_950],
    );
    assert.equal(d.invoice?.total, 4_000);
    assert.equal(
      code(() => changePlan(d.onPaid, premium, clock.now(), policy)),
      'BILL_PLAN_UNCHANGED',
    );
  });

  it('a trial upgrades without a charge and is charged at its end', () => {
    const clock = new ManualClock();
    const trial = paid(subscribe(undefined, 't1', standard, clock.now(), policy, { trial: true }));
    assert.equal(trial.status, 'trialing');
    assert.equal(trial.periodEnd - trial.periodStart, days(14));
    const up = changePlan(trial, premium, clock.now(), policy);
    assert.equal(up.invoice, undefined);
    assert.equal(up.onPaid.planId, 'premium');
    clock.set(trial.periodEnd);
    const renewal = nextDueStep(up.onPaid, clock.now(), policy)!;
    assert.equal(renewal.invoice?.total, 9_900);
    assert.equal(renewal.onPaid.status, 'active');
    assert.equal(
      code(() => subscribe(undefined, 't1', premium, clock.now(), policy, { trial: true })),
      'BILL_TRIAL_UNAVAILABLE',
    );
    const ended = { ...renewal.onPaid, status: 'canceled' as const };
    assert.equal(
      code(() => subscribe(ended, 't1', standard, clock.now(), policy, { trial: true })),
      'BILL_TRIAL_UNAVAILABLE',
    );
  });

  it('downgrades at the end of the period, not before; withdrawing it keeps the plan', () => {
    const clock = new ManualClock('2026-01-10T00:00:00Z');
    const sub = paid(subscribe(undefined, 't1', premium, clock.now(), policy));
    const scheduled = paid(changePlan(sub, standard, clock.now(), policy));
    assert.equal(scheduled.planId, 'premium');
    assert.equal(scheduled.pendingPlanId, 'standard');
    assert.equal(
      code(() => changePlan(scheduled, standard, clock.now(), policy)),
      'BILL_PLAN_UNCHANGED',
    );
    assert.equal(paid(changePlan(scheduled, premium, clock.now(), policy)).pendingPlanId, null);
    clock.set(sub.periodEnd - 1);
    assert.equal(nextDueStep(scheduled, clock.now(), policy), undefined);
    assert.equal(entitlementRecordFor('t1', scheduled, CATALOGUE_V1, clock.now()).tier, 'premium');
    clock.set(sub.periodEnd);
    const d = nextDueStep(scheduled, clock.now(), policy)!;
    assert.equal(d.action, 'subscription.downgraded');
    assert.equal(d.invoice?.total, 1_900);
    assert.equal(d.onPaid.planId, 'standard');
    assert.equal(d.onPaid.periodStart, sub.periodEnd);
  });

  it('a downgrade to free ends the subscription at period end', () => {
    const clock = new ManualClock();
    const sub = paid(subscribe(undefined, 't1', standard, clock.now(), policy));
    const scheduled = paid(changePlan(sub, free, clock.now(), policy));
    clock.set(sub.periodEnd);
    const ended = paid(nextDueStep(scheduled, clock.now(), policy)!);
    assert.equal(ended.status, 'canceled');
    assert.equal(ended.endReason, 'downgraded_to_free');
    assert.equal(entitlementRecordFor('t1', ended, CATALOGUE_V1, clock.now()).tier, 'free');
  });

  it('cancels at period end; resume withdraws it before the end and is refused after', () => {
    const clock = new ManualClock();
    const sub = paid(subscribe(undefined, 't1', standard, clock.now(), policy));
    const canceling = paid(cancel(sub));
    assert.equal(canceling.cancelAtPeriodEnd, true);
    assert.equal(cancel(canceling).action, 'subscription.unchanged');
    assert.equal(canceling.status, 'active');
    const resumed = paid(resume(canceling, clock.now()));
    assert.equal(resumed.cancelAtPeriodEnd, false);
    assert.equal(resume(resumed, clock.now()).action, 'subscription.unchanged');
    clock.set(sub.periodEnd);
    assert.equal(
      code(() => resume(canceling, clock.now())),
      'BILL_SUBSCRIPTION_ENDED',
    );
    const ended = paid(nextDueStep(canceling, clock.now(), policy)!);
    assert.equal(ended.status, 'canceled');
    assert.equal(nextDueAt(ended), null);
    assert.equal(
      code(() => cancel(ended)),
      'BILL_NO_SUBSCRIPTION',
    );
    assert.equal(
      code(() => resume(undefined, 0)),
      'BILL_NO_SUBSCRIPTION',
    );
    assert.equal(
      code(() => changePlan(ended, premium, clock.now(), policy)),
      'BILL_NO_SUBSCRIPTION',
    );
  });

  it('past_due → grace → free; a recovered payment within grace → active', () => {
    const clock = new ManualClock('2026-02-01T00:00:00Z');
    const sub = paid(subscribe(undefined, 't1', premium, clock.now(), policy));
    clock.set(sub.periodEnd);
    const renewal = nextDueStep(sub, clock.now(), policy)!;
    const pastDue = renewal.onFailed;
    assert.equal(pastDue.status, 'past_due');
    assert.equal(pastDue.graceEndsAt, sub.periodEnd + days(7));
    assert.equal(nextDueAt(pastDue), pastDue.graceEndsAt);
    assert.equal(
      entitlementRecordFor('t1', pastDue, CATALOGUE_V1, clock.now()).tier,
      'premium',
      'grace keeps the plan',
    );
    assert.equal(
      code(() => changePlan(pastDue, standard, clock.now(), policy)),
      'BILL_SUBSCRIPTION_NOT_ACTIVE',
    );

    const invoice = {
      kind: 'renewal' as const,
      planId: 'premium' as const,
      periodStart: pastDue.periodStart,
      periodEnd: pastDue.periodEnd,
    };
    clock.advance(days(3));
    assert.equal(nextDueStep(pastDue, clock.now(), policy), undefined);
    const recovered = paid(paymentSettled(pastDue, invoice, 'succeeded', clock.now(), policy)!);
    assert.equal(recovered.status, 'active');

    clock.set(pastDue.graceEndsAt!);
    const ended = paid(nextDueStep(pastDue, clock.now(), policy)!);
    assert.equal(ended.status, 'canceled');
    assert.equal(ended.endReason, 'grace_expired');
    const record = entitlementRecordFor('t1', ended, CATALOGUE_V1, clock.now());
    assert.equal(record.tier, 'free');
    assert.equal(record.seats, free.entitlements.seats);
  });

  it('acts on the current state whatever order payment outcomes arrive in', () => {
    const clock = new ManualClock();
    const sub = paid(subscribe(undefined, 't1', standard, clock.now(), policy));
    const invoice = {
      kind: 'initial' as const,
      planId: 'standard' as const,
      periodStart: sub.periodStart,
      periodEnd: sub.periodEnd,
    };
    const failed = paid(paymentSettled(sub, invoice, 'failed', clock.now(), policy)!);
    assert.equal(failed.status, 'past_due');
    assert.equal(paymentSettled(failed, invoice, 'failed', clock.now(), policy), undefined);
    const other = { ...invoice, periodStart: sub.periodStart - 1 };
    assert.equal(
      paymentSettled(sub, other, 'failed', clock.now(), policy),
      undefined,
      'an old invoice does not touch this period',
    );
    assert.equal(
      paymentSettled(sub, { ...invoice, kind: 'upgrade' }, 'failed', clock.now(), policy),
      undefined,
    );
    assert.equal(paymentSettled(undefined, invoice, 'failed', clock.now(), policy), undefined);
    clock.set(sub.periodEnd);
    assert.equal(
      paymentSettled(failed, invoice, 'succeeded', clock.now(), policy),
      undefined,
      'a period that is over is not restored',
    );
  });

  it('rolls period by period when the clock jumped months ahead', () => {
    const clock = new ManualClock('2026-01-31T12:00:00Z');
    let sub = paid(subscribe(undefined, 't1', standard, clock.now(), policy));
    clock.set('2026-05-15T00:00:00Z');
    const ends: string[] = [];
    for (
      let step = nextDueStep(sub, clock.now(), policy);
      step !== undefined;
      step = nextDueStep(sub, clock.now(), policy)
    ) {
      sub = step.onPaid;
      ends.push(new Date(sub.periodEnd).toISOString().slice(0, 10));
    }
    assert.deepEqual(ends, ['2026-03-28', '2026-04-28', '2026-05-28']);
    assert.equal(sub.version, 4);
  });

  it('without a subscription the record is the free plan', () => {
    const record = entitlementRecordFor('t9', undefined, CATALOGUE_V1, 5);
    assert.deepEqual(
      {
        tier: record.tier,
        plan: record.plan,
        status: record.status,
        version: record.version,
        periodEnd: record.periodEnd,
      },
      { tier: 'free', plan: 'free', status: 'none', version: 0, periodEnd: null },
    );
  });
});
