import type { TenantUsage } from '@gatehouse/kit';
import type { Logger } from '@gatehouse/kit/service';
import type { QuotaCounter, QuotaUse } from '../domain/limits.ts';
import type { BillingUsage } from './billing-usage.ts';
import type { UsageMeter } from './reporter.ts';

export interface BillingQuotaOptions {
  readonly billing: BillingUsage;
  /** This instance's sends billing has not counted yet, and whether billing takes reports now. */
  readonly meter: UsageMeter & { readonly healthy: boolean };
  /** When billing's count is not to be had. */
  readonly fallback: QuotaCounter;
  readonly logger: Logger;
  readonly now?: () => number;
  /** A count older than this is read again (in the background; the old one serves meanwhile). */
  readonly freshMs?: number;
  /** How long a send waits for a tenant's first count before the fallback answers. */
  readonly readBudgetMs?: number;
  /** After a failed read, how long sends go straight to the fallback. */
  readonly coolOffMs?: number;
}

interface Figure {
  readonly messages: number;
  readonly periodEnd: number;
  readonly takenAt: number;
}

const MAX_FIGURES = 10_000;

/**
 * The message quota checked against billing's count — the metered
 * entitlement — so chat refuses exactly when billing's usage (what the web
 * app shows, what the tenant is billed for) reaches the plan's quota, with
 * the same billing period. The count used is billing's last figure for the
 * tenant plus this instance's sends billing has not counted yet; other
 * instances' sends arrive in billing within a flush or two and reach this
 * instance with the next figure (after each counted batch for the tenants in
 * it, else re-read when older than 10 s).
 *
 * Failure mode: a billing outage never blocks a send. A figure already held
 * keeps serving (plus local sends); a tenant without one waits at most
 * `readBudgetMs` (250 ms) for billing, and not at all while billing is known
 * to be failing; then chat's own count (the database, a rolling window)
 * decides, as it does with reporting off.
 */
export class BillingQuota implements QuotaCounter {
  readonly #options: BillingQuotaOptions;
  readonly #now: () => number;
  readonly #figures = new Map<string, Figure>();
  readonly #reads = new Map<string, Promise<void>>();
  #readsFailedUntil = 0;

  constructor(options: BillingQuotaOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Billing's totals after a counted batch: they include that batch. */
  learn(usage: readonly TenantUsage[]): void {
    const takenAt = this.#now();
    for (const u of usage) this.#set(u, takenAt);
  }

  async use(tenantId: string, periodDays: number): Promise<QuotaUse> {
    const now = this.#now();
    const held = this.#figures.get(tenantId);
    if (held !== undefined && now < held.periodEnd) {
      if (now - held.takenAt > (this.#options.freshMs ?? 10_000)) void this.#read(tenantId);
      return this.#useOf(tenantId, held);
    }
    if (this.#options.meter.healthy && now >= this.#readsFailedUntil) {
      await within(this.#read(tenantId), this.#options.readBudgetMs ?? 250);
      const read = this.#figures.get(tenantId);
      if (read !== undefined && this.#now() < read.periodEnd) return this.#useOf(tenantId, read);
    }
    return this.#options.fallback.use(tenantId, periodDays);
  }

  accepted(tenantId: string): void {
    // Billing's side follows through the meter (unreported sends); the fallback's cache follows here.
    this.#options.fallback.accepted(tenantId);
  }

  #useOf(tenantId: string, figure: Figure): QuotaUse {
    return { used: figure.messages + this.#options.meter.unreported(tenantId), resetsAt: figure.periodEnd };
  }

  /** One read per tenant at a time; never rejects. */
  #read(tenantId: string): Promise<void> {
    const running = this.#reads.get(tenantId);
    if (running !== undefined) return running;
    const startedAt = this.#now();
    const read = this.#options.billing
      .read(tenantId, AbortSignal.timeout(2_000))
      .then(
        (usage) => {
          // A batch counted while this read was under way brought a newer figure: keep that one.
          if ((this.#figures.get(tenantId)?.takenAt ?? 0) <= startedAt) this.#set(usage, startedAt);
        },
        (err: Error) => {
          this.#readsFailedUntil = this.#now() + (this.#options.coolOffMs ?? 5_000);
          this.#options.logger.warn(
            { err: err.message, tenantId },
            "usage: billing's count unreadable; the quota is counted from chat's database for now",
          );
        },
      )
      .finally(() => this.#reads.delete(tenantId));
    this.#reads.set(tenantId, read);
    return read;
  }

  #set(usage: TenantUsage, takenAt: number): void {
    if (this.#figures.size >= MAX_FIGURES && !this.#figures.has(usage.tenantId)) this.#figures.clear();
    this.#figures.set(usage.tenantId, {
      messages: usage.messages,
      periodEnd: Date.parse(usage.periodEnd),
      takenAt,
    });
  }
}

/** Waits for `promise`, at most `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
