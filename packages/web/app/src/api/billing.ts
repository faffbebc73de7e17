import { api } from './session.ts';

/** The billing service's routes the app uses (/api/billing/docs). */

export interface Plan {
  readonly id: string;
  readonly name: string;
  readonly price: { readonly amount: number; readonly currency: string };
  readonly period: string;
  readonly trialDays: number;
  readonly entitlements: {
    readonly tier: string;
    readonly seats: number;
    readonly messageQuota: number | null;
    /** As in kit's EntitlementRecord (packages/kit/src/contracts/entitlement.ts). */
    readonly historyRetentionDays: number | null;
  };
}

export interface Subscription {
  readonly plan: string;
  readonly status: string;
  readonly currentPeriodStart: string;
  readonly currentPeriodEnd: string;
  readonly cancelAtPeriodEnd: boolean;
  readonly pendingPlan: string | null;
}

export interface Entitlements {
  readonly tier: string;
  readonly seats: number;
  readonly messageQuota: number | null;
}

export interface Invoice {
  readonly id: string;
  readonly kind: string;
  readonly status: string;
  readonly currency: string;
  readonly total: number;
  readonly plan: string;
  readonly createdAt: string;
  readonly periodStart: string;
  readonly periodEnd: string;
}

export interface Usage {
  readonly messages: number;
  readonly messageQuota: number | null;
  readonly remaining: number | null;
  readonly periodEnd: string;
}

const tenant = (tenantId: string) => `/api/billing/tenants/${encodeURIComponent(tenantId)}`;
const once = () => ({ 'idempotency-key': crypto.randomUUID() });

export const plans = () => api<{ currency: string; plans: Plan[] }>('/api/billing/plans');
export const subscription = (tenantId: string) =>
  api<{ subscription: Subscription | null; entitlements: Entitlements }>(`${tenant(tenantId)}/subscription`);
export const invoices = (tenantId: string) =>
  api<{ invoices: Invoice[] }>(`${tenant(tenantId)}/invoices`).then((r) => r.invoices);
export const usage = (tenantId: string) => api<Usage>(`${tenant(tenantId)}/usage`);
export const subscribe = (tenantId: string, plan: string) =>
  api<unknown>(`${tenant(tenantId)}/subscription`, { method: 'POST', body: { plan }, headers: once() });
export const changePlan = (tenantId: string, plan: string) =>
  api<unknown>(`${tenant(tenantId)}/subscription/change`, {
    method: 'POST',
    body: { plan },
    headers: once(),
  });
export const cancel = (tenantId: string) =>
  api<unknown>(`${tenant(tenantId)}/subscription/cancel`, { method: 'POST', body: {}, headers: once() });
export const resume = (tenantId: string) =>
  api<unknown>(`${tenant(tenantId)}/subscription/resume`, { method: 'POST', body: {}, headers: once() });

export function formatMoney(amount: number, currency: string): string {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount / 100);
}
