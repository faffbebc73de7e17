import { defineErrors, standardErrors } from '@gatehouse/kit/service';

/** Every code the billing service answers with. `docs/errors.md` lists them (a test checks it). */
export const billErrors = defineErrors({
  ...standardErrors('BILL'),
  BILL_PLAN_NOT_FOUND: { status: 404, title: 'No such plan' },
  BILL_FREE_PLAN: { status: 400, title: 'The free plan needs no subscription; cancel to return to it' },
  BILL_ALREADY_SUBSCRIBED: {
    status: 409,
    title: 'The tenant already has a subscription; change its plan instead',
  },
  BILL_NO_SUBSCRIPTION: { status: 404, title: 'The tenant has no subscription' },
  BILL_PLAN_UNCHANGED: { status: 409, title: 'The subscription is already on this plan' },
  BILL_SUBSCRIPTION_NOT_ACTIVE: {
    status: 409,
    title: 'The subscription is not in good standing; pay the open invoice first',
  },
  BILL_SUBSCRIPTION_ENDED: { status: 409, title: 'The subscription has ended; subscribe again' },
  BILL_TRIAL_UNAVAILABLE: { status: 409, title: 'This plan has no trial, or the tenant has had one' },
  BILL_PAYMENT_DECLINED: { status: 402, title: 'The payment was declined; nothing changed' },
  BILL_PROVIDER_UNAVAILABLE: { status: 503, title: 'The payment provider did not answer; nothing changed' },
  BILL_WEBHOOK_REFUSED: { status: 400, title: 'The webhook signature is missing, forged or too old' },
  BILL_IDEMPOTENCY_KEY_INVALID: { status: 400, title: 'The Idempotency-Key header is missing or not valid' },
  BILL_IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    title: 'The Idempotency-Key was used with a different request',
  },
  BILL_IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    title: 'A request with this Idempotency-Key is still running',
  },
  BILL_ROLE_FORBIDDEN: { status: 403, title: 'Only the tenant owner or an admin may change billing' },
  BILL_QUOTA_EXCEEDED: { status: 429, title: "The tenant's plan quota for this period is used up" },
});

export type BillErrorCode = keyof typeof billErrors.table;
export const billError = billErrors.create;
