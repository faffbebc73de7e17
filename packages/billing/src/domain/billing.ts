import { randomUUID } from 'node:crypto';
import type { Logger } from '@gatehouse/kit';
import type { Database, Queryable } from '@gatehouse/kit/service';
import { insertAudit } from '../db/audit.ts';
import { markPublished, saveEntitlement, unpublishedEntitlements } from '../db/entitlements.ts';
import {
  findInvoice,
  findInvoiceByPayment,
  type Invoice,
  insertInvoice,
  listInvoices,
  markOpenUncollectible,
  recordPayment,
  settleInvoice,
} from '../db/invoices.ts';
import {
  dueTenants,
  findCustomer,
  findSubscription,
  lockTenantBilling,
  saveCustomer,
  saveSubscription,
} from '../db/subscriptions.ts';
import { addMessages, messagesIn } from '../db/usage.ts';
import { insertWebhookEvent, setWebhookOutcome } from '../db/webhook-events.ts';
import type { EntitlementPublisher } from '../entitlements/publisher.ts';
import { billError } from '../errors.ts';
import { type PaymentProvider, ProviderUnavailable } from '../providers/provider.ts';
import { isPlanId, type Plan, type PlanId, planOf } from './catalogue.ts';
import type { Clock } from './clock.ts';
import { entitlementRecordFor, type TenantEntitlements } from './entitlements.ts';
import { amountDue } from './invoice.ts';
import {
  cancel,
  changePlan,
  type Decision,
  isLive,
  nextDueStep,
  type Policy,
  paymentSettled,
  resume,
  type Subscription,
  subscribe,
} from './subscription.ts';

/** Who asked: `user:<id>` with the request id, or the scheduler, or the provider. */
export interface Actor {
  readonly id: string;
  readonly requestId: string | null;
}

export interface BillingDeps {
  readonly db: Database;
  readonly provider: PaymentProvider;
  readonly publisher: EntitlementPublisher;
  readonly clock: Clock;
  readonly policy: Policy;
  readonly logger: Logger;
}

export interface ChangeResult {
  readonly subscription: Subscription | undefined;
  readonly invoice: Invoice | undefined;
  readonly changed: boolean;
}

export interface WebhookResult {
  readonly duplicate: boolean;
  readonly outcome: string;
}

export interface Usage {
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly messages: number;
  /** null: the plan has no message quota. */
  readonly messageQuota: number | null;
  readonly remaining: number | null;
}

function remainingOf(quota: number | null, used: number): number | null {
  return quota === null ? null : Math.max(0, quota - used);
}

const SCHEDULER: Actor = { id: 'system:scheduler', requestId: null };
/** Steps one tenant may take in one tick (a clock months ahead rolls a period per step). */
const MAX_STEPS = 36;

function startOfUtcMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/**
 * Billing's use cases. Each change of a tenant runs in one transaction under
 * that tenant's lock: decide (the pure state machine), charge when the
 * decision has an invoice, store the subscription, the invoice, the
 * entitlement record and an audit entry; after the commit, publish the
 * record. A payment is charged with the provider's own idempotency key, so a
 * retried command never charges twice.
 */
export class BillingService {
  readonly #deps: BillingDeps;

  constructor(deps: BillingDeps) {
    this.#deps = deps;
  }

  get catalogue() {
    return this.#deps.policy.catalogue;
  }

  plan(id: string): Plan {
    if (!isPlanId(id)) throw billError('BILL_PLAN_NOT_FOUND', `no plan ${id}`);
    return planOf(this.catalogue, id);
  }

  async subscription(tenantId: string): Promise<Subscription | undefined> {
    return findSubscription(this.#deps.db, tenantId);
  }

  async invoices(tenantId: string): Promise<Invoice[]> {
    return listInvoices(this.#deps.db, tenantId);
  }

  /** The record as stored; a tenant billing never wrote is on the free plan. */
  async entitlement(tenantId: string): Promise<TenantEntitlements> {
    const sub = await findSubscription(this.#deps.db, tenantId);
    return entitlementRecordFor(tenantId, sub, this.catalogue, this.#deps.clock.now());
  }

  async subscribe(
    actor: Actor,
    tenantId: string,
    planId: string,
    options: { trial?: boolean } = {},
  ): Promise<ChangeResult> {
    const plan = this.plan(planId);
    return this.#change(actor, tenantId, (sub, now) =>
      subscribe(sub, tenantId, plan, now, this.#deps.policy, options),
    );
  }

  async changePlan(actor: Actor, tenantId: string, planId: string): Promise<ChangeResult> {
    const plan = this.plan(planId);
    return this.#change(actor, tenantId, (sub, now) => changePlan(sub, plan, now, this.#deps.policy));
  }

  cancel(actor: Actor, tenantId: string): Promise<ChangeResult> {
    return this.#change(actor, tenantId, (sub) => cancel(sub));
  }

  resume(actor: Actor, tenantId: string): Promise<ChangeResult> {
    return this.#change(actor, tenantId, (sub, now) => resume(sub, now));
  }

  /**
   * Applies what time has made due (period ends, trials, grace periods) to
   * every tenant concerned, and publishes records the store missed. The
   * service calls it every few seconds; tests call it after moving the clock.
   */
  async tick(): Promise<number> {
    const now = this.#deps.clock.now();
    let steps = 0;
    for (const tenantId of await dueTenants(this.#deps.db, now, 500)) {
      for (let i = 0; i < MAX_STEPS; i++) {
        try {
          const result = await this.#change(SCHEDULER, tenantId, (sub, at) =>
            nextDueStep(sub, at, this.#deps.policy),
          );
          if (!result.changed) break;
          steps++;
        } catch (err) {
          this.#deps.logger.warn({ err, tenantId }, 'billing step failed; retried on the next tick');
          break;
        }
      }
    }
    await this.republish();
    return steps;
  }

  /** Publishes records written while the entitlement store was unreachable. */
  async republish(): Promise<number> {
    let published = 0;
    for (const record of await unpublishedEntitlements(this.#deps.db, 500)) {
      if (await this.#publish(record)) published++;
    }
    return published;
  }

  /**
   * A verified provider event, handled once: its id is stored with the
   * change it causes, in one transaction (a failure stores neither, and the
   * provider's retry runs it again). The payment's state is asked of the
   * provider, so events acting late or out of order see the truth, and a paid
   * invoice is never settled twice.
   */
  async handleWebhook(rawBody: Buffer, signature: string | undefined): Promise<WebhookResult> {
    const { db, provider, clock } = this.#deps;
    const event = provider.verifyWebhook(rawBody, signature, clock.now());
    let record: TenantEntitlements | undefined;
    const result = await db.transaction(async (tx): Promise<WebhookResult> => {
      // The tenant's lock first: an event may overtake the charge call that created its payment.
      if (event.tenantId !== undefined) await lockTenantBilling(tx, event.tenantId);
      const fresh = await insertWebhookEvent(tx, {
        provider: provider.name,
        id: event.id,
        type: event.type,
        createdAt: event.createdAt,
      });
      if (!fresh) return { duplicate: true, outcome: 'duplicate' };
      let outcome = 'ignored';
      if (event.paymentId !== undefined) {
        const invoice =
          (await findInvoiceByPayment(tx, event.paymentId)) ??
          (event.invoiceId !== undefined && /^[0-9a-f-]{36}$/.test(event.invoiceId)
            ? await findInvoice(tx, event.invoiceId)
            : undefined);
        if (invoice === undefined || (event.tenantId !== undefined && invoice.tenantId !== event.tenantId)) {
          outcome = 'unknown_payment';
        } else {
          if (event.tenantId === undefined) await lockTenantBilling(tx, invoice.tenantId);
          const settled = await this.#settle(tx, invoice, event.paymentId, {
            id: `provider:${provider.name}`,
            requestId: event.id,
          });
          outcome = settled.outcome;
          record = settled.record;
        }
      }
      await setWebhookOutcome(tx, provider.name, event.id, outcome);
      return { duplicate: false, outcome };
    });
    if (record !== undefined) await this.#publish(record);
    return result;
  }

  async #settle(
    tx: Queryable,
    invoice: Invoice,
    paymentId: string,
    actor: Actor,
  ): Promise<{ outcome: string; record?: TenantEntitlements }> {
    const { provider, clock, policy } = this.#deps;
    const status = await provider.paymentStatus(paymentId);
    const now = clock.now();
    if (status === 'pending') return { outcome: 'payment_pending' };
    // A paid (or written-off) invoice is final: a later event cannot pay it twice or unpay it.
    if (invoice.status !== 'open') return { outcome: 'already_settled' };
    if (status === 'succeeded') await settleInvoice(tx, invoice.id, { status: 'paid', paymentId, at: now });
    else await recordPayment(tx, invoice.id, paymentId, 'payment_failed');
    const sub = await findSubscription(tx, invoice.tenantId);
    const decision = paymentSettled(sub, invoice, status, now, policy);
    if (decision === undefined) return { outcome: `invoice_${status === 'succeeded' ? 'paid' : 'unpaid'}` };
    const record = await this.#store(tx, invoice.tenantId, decision.onPaid, decision.action, actor, {
      invoiceId: invoice.id,
      paymentId,
    });
    return { outcome: decision.action, record };
  }

  /** Messages chat reports, counted in the tenant's current billing period. */
  async recordMessages(tenantId: string, count: number): Promise<Usage> {
    const window = await this.#usageWindow(tenantId);
    const messages = await addMessages(this.#deps.db, tenantId, window.periodStart, count);
    return { ...window, messages, remaining: remainingOf(window.messageQuota, messages) };
  }

  /**
   * One batch of reports, inside the caller's transaction (the one that records
   * the batch's Idempotency-Key, so a batch is counted once or not at all).
   * Tenants are added in id order, so two batches naming the same tenants
   * lock their counters in the same order.
   */
  async recordReports(
    tx: Queryable,
    reports: readonly { readonly tenantId: string; readonly messages: number }[],
  ): Promise<(Usage & { readonly tenantId: string })[]> {
    const sorted = [...reports].sort((a, b) =>
      a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0,
    );
    const out: (Usage & { readonly tenantId: string })[] = [];
    for (const { tenantId, messages: count } of sorted) {
      const window = await this.#usageWindow(tenantId, tx);
      const messages = await addMessages(tx, tenantId, window.periodStart, count);
      out.push({ tenantId, ...window, messages, remaining: remainingOf(window.messageQuota, messages) });
    }
    return out;
  }

  async usage(tenantId: string): Promise<Usage> {
    const window = await this.#usageWindow(tenantId);
    const messages = await messagesIn(this.#deps.db, tenantId, window.periodStart);
    return { ...window, messages, remaining: remainingOf(window.messageQuota, messages) };
  }

  async #usageWindow(
    tenantId: string,
    q: Queryable = this.#deps.db,
  ): Promise<Omit<Usage, 'messages' | 'remaining'>> {
    const now = this.#deps.clock.now();
    const sub = await findSubscription(q, tenantId);
    const record = entitlementRecordFor(tenantId, sub, this.catalogue, now);
    if (isLive(sub) && sub.periodStart <= now && now < sub.periodEnd)
      return { periodStart: sub.periodStart, periodEnd: sub.periodEnd, messageQuota: record.messageQuota };
    const periodStart = startOfUtcMonth(now);
    const next = new Date(periodStart);
    next.setUTCMonth(next.getUTCMonth() + 1);
    return { periodStart, periodEnd: next.getTime(), messageQuota: record.messageQuota };
  }

  async #change(
    actor: Actor,
    tenantId: string,
    decide: (sub: Subscription | undefined, now: number) => Decision | undefined,
  ): Promise<ChangeResult> {
    const { db, clock } = this.#deps;
    let record: TenantEntitlements | undefined;
    const result = await db.transaction(async (tx): Promise<ChangeResult> => {
      await lockTenantBilling(tx, tenantId);
      const current = await findSubscription(tx, tenantId);
      const now = clock.now();
      const decision = decide(current, now);
      if (decision === undefined || decision.action === 'subscription.unchanged')
        return { subscription: current, invoice: undefined, changed: false };
      let next = decision.onPaid;
      let invoiceId: string | undefined;
      let paymentDetail: Record<string, unknown> = {};
      if (decision.invoice !== undefined) {
        invoiceId = randomUUID();
        const draft = decision.invoice;
        await insertInvoice(tx, {
          id: invoiceId,
          tenantId,
          provider: this.#deps.provider.name,
          createdAt: now,
          draft,
        });
        const due = amountDue(draft);
        if (due === 0) {
          await settleInvoice(tx, invoiceId, { status: 'paid', at: now });
        } else {
          const charged = await this.#charge(
            tx,
            tenantId,
            invoiceId,
            due,
            draft.currency,
            draft.kind,
            current,
          );
          paymentDetail = { paymentId: charged.paymentId, payment: charged.status };
          if (charged.status === 'succeeded') {
            await settleInvoice(tx, invoiceId, { status: 'paid', paymentId: charged.paymentId, at: now });
          } else {
            await recordPayment(tx, invoiceId, charged.paymentId, charged.failureCode ?? null);
            if (charged.status === 'failed') {
              if (decision.refuseIfDeclined)
                throw billError(
                  'BILL_PAYMENT_DECLINED',
                  `the provider declined the payment (${charged.failureCode ?? 'declined'})`,
                );
              next = decision.onFailed;
            }
          }
        }
      }
      if (
        next.status === 'canceled' &&
        (next.endReason === 'grace_expired' || next.endReason === 'incomplete_expired')
      )
        await markOpenUncollectible(tx, tenantId);
      record = await this.#store(tx, tenantId, next, decision.action, actor, {
        plan: next.planId,
        status: next.status,
        ...(invoiceId === undefined ? {} : { invoiceId }),
        ...paymentDetail,
      });
      const invoice = invoiceId === undefined ? undefined : await findInvoice(tx, invoiceId);
      return { subscription: next, invoice, changed: true };
    });
    if (record !== undefined) await this.#publish(record);
    return result;
  }

  async #store(
    tx: Queryable,
    tenantId: string,
    next: Subscription,
    action: string,
    actor: Actor,
    detail: Record<string, unknown>,
  ): Promise<TenantEntitlements> {
    const now = this.#deps.clock.now();
    await saveSubscription(tx, next);
    const record = entitlementRecordFor(tenantId, next, this.catalogue, now);
    await saveEntitlement(tx, record);
    await insertAudit(tx, { actor: actor.id, tenantId, action, requestId: actor.requestId, at: now, detail });
    return record;
  }

  async #charge(
    tx: Queryable,
    tenantId: string,
    invoiceId: string,
    amount: number,
    currency: string,
    kind: string,
    current: Subscription | undefined,
  ) {
    const { provider } = this.#deps;
    try {
      let customerId = await findCustomer(tx, tenantId, provider.name);
      if (customerId === undefined) {
        customerId = await provider.createCustomer(tenantId);
        await saveCustomer(tx, tenantId, provider.name, customerId);
      }
      return await provider.charge({
        customerId,
        amount,
        currency,
        description: `Gatehouse ${kind} invoice ${invoiceId}`,
        // Stable across retries of the same change: a retry after a lost answer gets the first payment.
        idempotencyKey: `gatehouse-${tenantId}-${kind}-v${current?.version ?? 0}`,
        tenantId,
        invoiceId,
      });
    } catch (err) {
      if ((err as { code?: unknown }).code === 'PROVIDER_UNAVAILABLE' || err instanceof ProviderUnavailable) {
        this.#deps.logger.warn({ err, tenantId }, 'payment provider unavailable');
        throw billError('BILL_PROVIDER_UNAVAILABLE', undefined, {
          cause: err,
          headers: { 'retry-after': '5' },
        });
      }
      throw err;
    }
  }

  /** Publishes a record; when the store is down the record stays marked unpublished and the next tick retries. */
  async #publish(record: TenantEntitlements): Promise<boolean> {
    try {
      await this.#deps.publisher.publish(record);
      await markPublished(this.#deps.db, record.tenantId, record.version);
      return true;
    } catch (err) {
      this.#deps.logger.warn(
        { err, tenantId: record.tenantId },
        'entitlement record not published; retried on the next tick',
      );
      return false;
    }
  }
}

export type { PlanId };
