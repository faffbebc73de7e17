import { useCallback, useEffect, useState } from 'react';
import * as billing from '../api/billing.ts';
import { ErrorNotice, SuccessNotice, useAction } from '../components/forms.tsx';
import { Page } from '../components/page.tsx';
import { useMe } from '../session-context.tsx';

interface BillingState {
  readonly plans: billing.Plan[];
  readonly subscription: billing.Subscription | null;
  readonly entitlements: billing.Entitlements;
  readonly invoices: billing.Invoice[];
  readonly usage: billing.Usage | undefined;
}

const limit = (n: number | null | undefined) =>
  n === null || n === undefined ? 'unlimited' : n.toLocaleString();

/** Plans, the subscription and its state, usage against quota, invoices; changes for owners and admins. */
export function BillingPage() {
  const me = useMe();
  const tenantId = me.tenantId;
  const manager = me.roles.includes('owner') || me.roles.includes('admin');
  const [state, setState] = useState<BillingState | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);

  const load = useCallback(async () => {
    try {
      const [catalogue, sub, invoices, usage] = await Promise.all([
        billing.plans(),
        billing.subscription(tenantId),
        billing.invoices(tenantId).catch(() => []),
        billing.usage(tenantId).catch(() => undefined),
      ]);
      setState({ plans: catalogue.plans, ...sub, invoices, usage });
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, [tenantId]);
  useEffect(() => {
    void load();
  }, [load]);

  const choose = useAction(async (plan: billing.Plan) => {
    const sub = state?.subscription;
    if (plan.id === 'free') await billing.cancel(tenantId);
    else if (sub === null || sub === undefined || sub.status === 'canceled')
      await billing.subscribe(tenantId, plan.id);
    else await billing.changePlan(tenantId, plan.id);
    setDone(`Your team's plan is now set to ${plan.name}.`);
    await load();
  });
  const cancel = useAction(async () => {
    await billing.cancel(tenantId);
    setDone('The subscription ends at the end of the current period.');
    await load();
  });
  const resume = useAction(async () => {
    await billing.resume(tenantId);
    setDone('The scheduled change was withdrawn.');
    await load();
  });

  const current = state?.subscription?.plan ?? 'free';
  const currentPlan = state?.plans.find((p) => p.id === current);
  return (
    <Page title="Billing" wide>
      <ErrorNotice error={error} />
      {state === undefined ? (
        <p role="status">Loading…</p>
      ) : (
        <>
          <section aria-labelledby="current">
            <h2 id="current">Current plan</h2>
            <dl className="facts">
              <dt>Plan</dt>
              <dd data-testid="current-plan">{currentPlan?.name ?? current}</dd>
              <dt>State</dt>
              <dd>
                {state.subscription === null
                  ? 'free, no subscription'
                  : `${state.subscription.status}${state.subscription.cancelAtPeriodEnd ? ', ends at the end of the period' : ''}${
                      state.subscription.pendingPlan
                        ? `, changes to ${state.subscription.pendingPlan} at the end of the period`
                        : ''
                    }`}
              </dd>
              {state.subscription === null ? null : (
                <>
                  <dt>Current period</dt>
                  <dd>
                    {new Date(state.subscription.currentPeriodStart).toLocaleDateString()} –{' '}
                    {new Date(state.subscription.currentPeriodEnd).toLocaleDateString()}
                  </dd>
                </>
              )}
              <dt>Seats</dt>
              <dd data-testid="seats">{limit(state.entitlements.seats)}</dd>
              <dt>Messages this period</dt>
              <dd data-testid="usage">
                {state.usage === undefined
                  ? 'not available'
                  : `${state.usage.messages.toLocaleString()} of ${limit(state.usage.messageQuota ?? state.entitlements.messageQuota)}`}
              </dd>
            </dl>
            {manager && state.subscription !== null && state.subscription.status !== 'canceled' ? (
              <div className="actions">
                {state.subscription.cancelAtPeriodEnd || state.subscription.pendingPlan ? (
                  <button type="button" onClick={() => void resume.run()} disabled={resume.busy}>
                    Keep the current plan
                  </button>
                ) : (
                  <button
                    type="button"
                    className="danger"
                    onClick={() => void cancel.run()}
                    disabled={cancel.busy}
                  >
                    Cancel at the end of the period
                  </button>
                )}
              </div>
            ) : null}
            <ErrorNotice error={cancel.error ?? resume.error} />
          </section>

          <section aria-labelledby="plans">
            <h2 id="plans">Plans</h2>
            {manager ? null : <p>Only an owner or admin of the team can change the plan.</p>}
            {done === undefined ? null : (
              <SuccessNotice>
                <p>{done}</p>
              </SuccessNotice>
            )}
            <ErrorNotice error={choose.error} />
            <table>
              <caption className="visually-hidden">Plans</caption>
              <thead>
                <tr>
                  <th scope="col">Plan</th>
                  <th scope="col">Price</th>
                  <th scope="col">Seats</th>
                  <th scope="col">Messages per period</th>
                  <th scope="col">
                    <span className="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {state.plans.map((p) => (
                  <tr key={p.id}>
                    <td>{p.name}</td>
                    <td>
                      {billing.formatMoney(p.price.amount, p.price.currency)} / {p.period}
                    </td>
                    <td>{limit(p.entitlements.seats)}</td>
                    <td>{limit(p.entitlements.messageQuota)}</td>
                    <td>
                      {p.id === current ? (
                        <span className="badge ok">current</span>
                      ) : manager ? (
                        <button type="button" onClick={() => void choose.run(p)} disabled={choose.busy}>
                          Switch to {p.name}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section aria-labelledby="invoices">
            <h2 id="invoices">Invoices</h2>
            {state.invoices.length === 0 ? (
              <p>No invoices yet.</p>
            ) : (
              <table>
                <caption className="visually-hidden">Invoices</caption>
                <thead>
                  <tr>
                    <th scope="col">Date</th>
                    <th scope="col">Plan</th>
                    <th scope="col">Total</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {state.invoices.map((i) => (
                    <tr key={i.id}>
                      <td>{new Date(i.createdAt).toLocaleDateString()}</td>
                      <td>{i.plan}</td>
                      <td>{billing.formatMoney(i.total, i.currency)}</td>
                      <td>{i.status}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </Page>
  );
}
