import {
  type AssertionKey,
  createServiceClient,
  parseTenantUsage,
  type ServiceClient,
  type TenantUsage,
  tenantUsagePath,
  USAGE_REPORTS_PATH,
  type UsageReportBatch,
} from '@gatehouse/kit';

/** What became of one batch sent to billing. */
export type ReportOutcome =
  /** Billing counted it (now or when it was first sent): each tenant's total, this batch included. */
  | { readonly kind: 'counted'; readonly usage: readonly TenantUsage[] }
  /** Not counted (billing down, busy, or refusing our identity): send the same batch again later. */
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs?: number | undefined }
  /** Billing will never take this batch (it says the batch itself is wrong): give it up. */
  | { readonly kind: 'refused'; readonly reason: string };

/** Billing as the usage reporter and the quota see it. */
export interface BillingUsage {
  /** Sends one batch under its key; never throws. */
  report(batch: UsageReportBatch, key: string, signal?: AbortSignal): Promise<ReportOutcome>;
  /** A tenant's count this period; throws when billing cannot say. */
  read(tenantId: string, signal?: AbortSignal): Promise<TenantUsage>;
}

const MAX_ANSWER_BYTES = 512 * 1024;

function retryAfterMs(headers: Headers): number | undefined {
  const seconds = Number(headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

function codeOf(body: unknown): string {
  const code = (body as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'no code';
}

/** Billing's internal usage API, called as the platform service `chat`. */
export function httpBillingUsage(options: {
  readonly url: string;
  readonly assertionKeys: readonly AssertionKey[];
  readonly timeoutMs?: number;
}): BillingUsage {
  const call: ServiceClient = createServiceClient({
    baseUrl: options.url,
    service: 'chat',
    assertionKeys: options.assertionKeys,
    timeoutMs: options.timeoutMs ?? 5_000,
    maxBodyBytes: MAX_ANSWER_BYTES,
  });
  return {
    async report(batch, key, signal) {
      let answer: Awaited<ReturnType<ServiceClient>>;
      try {
        answer = await call({
          method: 'POST',
          path: USAGE_REPORTS_PATH,
          headers: { 'idempotency-key': key },
          body: batch,
          signal,
        });
      } catch (err) {
        return { kind: 'retry', reason: (err as Error).message };
      }
      const { status, body, headers } = answer;
      if (status === 200) {
        const usage = (body as { usage?: unknown } | undefined)?.usage;
        const parsed = Array.isArray(usage) ? usage.map(parseTenantUsage) : [];
        // Counted either way (200 is the commit); unreadable figures are only not learnt from.
        return { kind: 'counted', usage: parsed.filter((u): u is TenantUsage => u !== undefined) };
      }
      // 401/403: keys or identity rules differ between chat and billing, fixed on billing's side or
      // ours by an operator; 408/409/425/429/5xx: try again. Counts are kept meanwhile.
      if (status === 400 || status === 404 || status === 413 || status === 415 || status === 422)
        return { kind: 'refused', reason: `billing answered ${status} (${codeOf(body)})` };
      return {
        kind: 'retry',
        reason: `billing answered ${status} (${codeOf(body)})`,
        retryAfterMs: retryAfterMs(headers),
      };
    },

    async read(tenantId, signal) {
      const { status, body } = await call({ method: 'GET', path: tenantUsagePath(tenantId), signal });
      if (status !== 200) throw new Error(`billing answered ${status} (${codeOf(body)})`);
      const usage = parseTenantUsage(body);
      if (usage === undefined || usage.tenantId !== tenantId)
        throw new Error('billing’s usage answer is malformed');
      return usage;
    },
  };
}
