import { randomUUID } from 'node:crypto';
import {
  type TenantUsage,
  USAGE_REPORT_MAX_MESSAGES,
  USAGE_REPORT_MAX_TENANTS,
  USAGE_TENANT_ID_MAX_LENGTH,
  type UsageReportEntry,
} from '@gatehouse/kit';
import { Counter, Gauge, type Logger, type Registry } from '@gatehouse/kit/service';
import type { BillingUsage, ReportOutcome } from './billing-usage.ts';

/** Where accepted sends are counted; the send path calls it and never waits. */
export interface UsageMeter {
  /** One message of `tenantId` was stored. */
  record(tenantId: string): void;
  /** Messages of `tenantId` this instance accepted that billing has not counted yet. */
  unreported(tenantId: string): number;
}

/** Reporting off (no CHAT_BILLING_URL): nothing is counted here. */
export const NO_USAGE_METER: UsageMeter = { record: () => {}, unreported: () => 0 };

export interface UsageReporterOptions {
  readonly billing: BillingUsage;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** A batch every this often (when there is anything to send). */
  readonly flushMs: number;
  /** Names this process in its batch keys; a fresh one per process. */
  readonly instanceId?: string;
  /** Tenants with counts waiting, at most; a new tenant's sends beyond it are dropped (and counted). */
  readonly maxPendingTenants?: number;
  /** Back-off after a failed batch: doubles from `initialMs` up to `maxMs`, with jitter. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** At shutdown, how long to keep trying to hand billing what is left. */
  readonly drainMs?: number;
  /** Billing's totals after each counted batch (the quota learns from them). */
  readonly onCounted?: (usage: readonly TenantUsage[]) => void;
  readonly random?: () => number;
}

interface Batch {
  readonly key: string;
  readonly entries: readonly UsageReportEntry[];
  readonly messages: number;
  /** More was waiting than one batch holds: send the next one at once. */
  readonly full: boolean;
}

type DropReason = 'overflow' | 'refused' | 'shutdown' | 'invalid';

/**
 * Counts the messages this instance accepts per tenant and hands them to
 * billing in batches. The policy:
 *
 * - A send only adds one to a number in memory; nothing on the send path
 *   waits for billing or can fail because of it.
 * - Every `flushMs` the counts so far become one batch (at most 500 tenants,
 *   1,000,000 messages each; more waits for the next batch, sent at once)
 *   with a key of its own, `chat:<instance>:<n>`. Billing counts a key once,
 *   so a batch is sent again, unchanged and under the same key, until billing
 *   answers: a retry after a lost answer is never counted twice. One batch is
 *   in flight at a time; new sends gather behind it.
 * - Billing down, slow or refusing our identity: the batch and everything
 *   behind it are kept and retried with exponential back-off (0.5 s doubling
 *   to 30 s, jittered, longer when billing sends Retry-After), each failure
 *   logged and counted in `chat_usage_batches_total{outcome="retry"}`.
 * - Memory is bounded by tenants, not messages: at most `maxPendingTenants`
 *   (100,000) tenants wait; sends of a tenant beyond them are dropped, logged
 *   and counted (`chat_usage_messages_dropped_total{reason="overflow"}`).
 *   A batch billing refuses as malformed is dropped the same way
 *   (`reason="refused"`); it would never be taken.
 * - At shutdown, after the listener drained (every accepted send is counted),
 *   what is left is sent for up to `drainMs` (5 s); what billing still has
 *   not taken then is lost, logged per tenant and counted
 *   (`reason="shutdown"`). A process that is killed loses its unsent counts.
 */
export class UsageReporter implements UsageMeter {
  readonly #options: UsageReporterOptions;
  readonly #instance: string;
  readonly #maxPendingTenants: number;
  readonly #backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly #random: () => number;
  readonly #pending = new Map<string, number>();
  #batch: Batch | undefined;
  #seq = 0;
  #failures = 0;
  #retryAt = 0;
  #sending: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #lastOverflowLog = 0;
  readonly #abort = new AbortController();
  readonly #reported: Counter;
  readonly #dropped: Counter<'reason'>;
  readonly #batches: Counter<'outcome'>;
  readonly #lastCounted: Gauge;

  constructor(options: UsageReporterOptions) {
    this.#options = options;
    this.#instance = options.instanceId ?? randomUUID();
    this.#maxPendingTenants = options.maxPendingTenants ?? 100_000;
    this.#backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 };
    this.#random = options.random ?? Math.random;
    const registers = [options.metrics];
    this.#reported = new Counter({
      name: 'chat_usage_messages_reported_total',
      help: 'Messages billing has counted from this instance’s usage reports',
      registers,
    });
    this.#dropped = new Counter({
      name: 'chat_usage_messages_dropped_total',
      help: 'Accepted messages never counted by billing: too many tenants waiting (overflow), a batch billing refused, left at shutdown, or a tenant id billing cannot take (invalid)',
      labelNames: ['reason'],
      registers,
    });
    this.#batches = new Counter({
      name: 'chat_usage_batches_total',
      help: 'Usage report batches sent to billing, by outcome: counted, retry (kept, sent again) or refused (dropped)',
      labelNames: ['outcome'],
      registers,
    });
    this.#lastCounted = new Gauge({
      name: 'chat_usage_last_counted_timestamp_seconds',
      help: 'When billing last counted a batch of this instance (0: not yet)',
      registers,
    });
    const reporter = this;
    new Gauge({
      name: 'chat_usage_messages_unreported',
      help: 'Accepted messages billing has not counted yet (waiting or in the batch in flight)',
      registers,
      collect() {
        this.set(reporter.#unreportedTotal());
      },
    });
  }

  /** Starts the periodic flush. */
  start(): void {
    this.#timer = setInterval(() => this.#tick(), this.#options.flushMs);
    this.#timer.unref();
  }

  record(tenantId: string): void {
    if (this.#closed) {
      this.#drop('shutdown', 1);
      return;
    }
    // Billing would refuse the whole batch for one such id: it is dropped alone, here.
    if (tenantId.length === 0 || tenantId.length > USAGE_TENANT_ID_MAX_LENGTH) {
      this.#drop('invalid', 1);
      return;
    }
    const count = this.#pending.get(tenantId);
    if (count !== undefined) {
      this.#pending.set(tenantId, count + 1);
      return;
    }
    if (this.#pending.size >= this.#maxPendingTenants) {
      this.#drop('overflow', 1);
      const now = Date.now();
      if (now - this.#lastOverflowLog > 60_000) {
        this.#lastOverflowLog = now;
        this.#options.logger.error(
          { pendingTenants: this.#pending.size, failures: this.#failures },
          'usage reports: too many tenants waiting for billing; sends of new tenants are not counted',
        );
      }
      return;
    }
    this.#pending.set(tenantId, 1);
  }

  unreported(tenantId: string): number {
    const inBatch = this.#batch?.entries.find((e) => e.tenantId === tenantId)?.messages ?? 0;
    return (this.#pending.get(tenantId) ?? 0) + inBatch;
  }

  /** The last batch was counted (or none was tried yet): billing is taking reports. */
  get healthy(): boolean {
    return this.#failures === 0;
  }

  /** Sends what is waiting now (unless a batch is in flight or backing off); resolves when done. */
  flush(): Promise<void> {
    this.#tick();
    return this.#sending ?? Promise.resolve();
  }

  /** Stops the timer, then hands billing what is left within `drainMs`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const drainMs = this.#options.drainMs ?? 5_000;
    const deadline = Date.now() + drainMs;
    const stop = setTimeout(() => this.#abort.abort(), drainMs);
    try {
      await this.#sending;
      // The deadline is checked here too: a failure that settles without I/O would never let the
      // abort timer run.
      while (
        !this.#abort.signal.aborted &&
        Date.now() < deadline &&
        (this.#batch !== undefined || this.#pending.size > 0)
      ) {
        const { outcome } = await this.#sendOne();
        if (outcome === 'retry')
          await new Promise((r) => setTimeout(r, Math.max(0, Math.min(250, deadline - Date.now()))));
      }
    } finally {
      clearTimeout(stop);
    }
    const lost = new Map(this.#pending);
    for (const e of this.#batch?.entries ?? [])
      lost.set(e.tenantId, (lost.get(e.tenantId) ?? 0) + e.messages);
    this.#batch = undefined;
    this.#pending.clear();
    if (lost.size === 0) {
      this.#options.logger.info('usage reports: everything handed to billing');
      return;
    }
    let total = 0;
    for (const n of lost.values()) total += n;
    this.#drop('shutdown', total);
    // Per tenant (the first 1,000), so that an operator can add them to billing by hand. A batch
    // whose answer the deadline cut off may have been counted: its key is logged above.
    this.#options.logger.error(
      { lostMessages: total, tenants: lost.size, byTenant: Object.fromEntries([...lost].slice(0, 1_000)) },
      'usage reports: billing did not confirm these counts before shutdown; they are lost',
    );
  }

  #tick(): void {
    if (this.#closed || this.#sending !== undefined || Date.now() < this.#retryAt) return;
    if (this.#batch === undefined && this.#pending.size === 0) return;
    this.#sending = this.#sendWhileFull().finally(() => {
      this.#sending = undefined;
    });
  }

  async #sendWhileFull(): Promise<void> {
    for (;;) {
      const { outcome, full } = await this.#sendOne();
      if (outcome !== 'counted' || !full || this.#closed) return;
    }
  }

  /** Sends the batch in flight, or makes one of what is waiting. Never throws. */
  async #sendOne(): Promise<{ outcome: ReportOutcome['kind'] | 'nothing'; full: boolean }> {
    this.#batch ??= this.#take();
    const batch = this.#batch;
    if (batch === undefined) return { outcome: 'nothing', full: false };
    const outcome = await this.#options.billing.report(
      { reports: batch.entries },
      batch.key,
      this.#abort.signal,
    );
    this.#batches.inc({ outcome: outcome.kind });
    const { logger } = this.#options;
    if (outcome.kind === 'retry') {
      this.#failures++;
      const delay = this.#delay(outcome.retryAfterMs);
      this.#retryAt = Date.now() + delay;
      logger.warn(
        {
          err: outcome.reason,
          failures: this.#failures,
          retryInMs: delay,
          batch: batch.key,
          unreportedMessages: this.#unreportedTotal(),
        },
        'usage reports: billing did not take the batch; kept, retrying',
      );
      return { outcome: 'retry', full: batch.full };
    }
    this.#batch = undefined;
    if (outcome.kind === 'refused') {
      this.#drop('refused', batch.messages);
      logger.error(
        { err: outcome.reason, batch: batch.key, messages: batch.messages, tenants: batch.entries.length },
        'usage reports: billing refused the batch; its counts are dropped',
      );
    } else {
      this.#reported.inc(batch.messages);
      this.#lastCounted.set(Date.now() / 1000);
      if (this.#failures > 0)
        logger.info(
          { failures: this.#failures, batch: batch.key },
          'usage reports: billing takes reports again; nothing was lost',
        );
      this.#options.onCounted?.(outcome.usage);
    }
    this.#failures = 0;
    this.#retryAt = 0;
    return { outcome: outcome.kind, full: batch.full };
  }

  #take(): Batch | undefined {
    if (this.#pending.size === 0) return undefined;
    const entries: UsageReportEntry[] = [];
    let messages = 0;
    for (const [tenantId, count] of this.#pending) {
      if (entries.length === USAGE_REPORT_MAX_TENANTS) break;
      const taken = Math.min(count, USAGE_REPORT_MAX_MESSAGES);
      entries.push({ tenantId, messages: taken });
      messages += taken;
      if (taken === count) this.#pending.delete(tenantId);
      else this.#pending.set(tenantId, count - taken);
    }
    // Whatever is still waiting did not fit (a batch takes everything else).
    return { key: `chat:${this.#instance}:${++this.#seq}`, entries, messages, full: this.#pending.size > 0 };
  }

  #delay(retryAfterMs: number | undefined): number {
    const { initialMs, maxMs } = this.#backoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.#failures - 1, 30));
    const jittered = base / 2 + (this.#random() * base) / 2;
    return Math.round(Math.max(jittered, Math.min(retryAfterMs ?? 0, maxMs)));
  }

  #drop(reason: DropReason, messages: number): void {
    this.#dropped.inc({ reason }, messages);
  }

  #unreportedTotal(): number {
    let total = this.#batch?.messages ?? 0;
    for (const n of this.#pending.values()) total += n;
    return total;
  }
}
