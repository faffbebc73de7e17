import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TenantUsage } from '@gatehouse/kit';
import { captureLogger } from '@gatehouse/kit/testing';
import type { QuotaCounter } from '../src/domain/limits.ts';
import type { BillingUsage } from '../src/usage/billing-usage.ts';
import { BillingQuota } from '../src/usage/quota.ts';

/** The quota against billing's count: billing's figure plus what billing has not counted yet; never blocked by billing. */

const PERIOD_END = Date.parse('2027-01-01T00:00:00.000Z');

function usage(tenantId: string, messages: number, periodEnd = PERIOD_END): TenantUsage {
  return {
    tenantId,
    periodStart: '2026-12-01T00:00:00.000Z',
    periodEnd: new Date(periodEnd).toISOString(),
    messages,
    messageQuota: 100,
    remaining: Math.max(0, 100 - messages),
  };
}

function setup(options: { read?: (tenantId: string) => Promise<TenantUsage>; now?: () => number } = {}) {
  const reads: string[] = [];
  const unreported = new Map<string, number>();
  const meter = { healthy: true, record() {}, unreported: (t: string) => unreported.get(t) ?? 0 };
  const fallbackCalls: string[] = [];
  const fallback: QuotaCounter = {
    async use(tenantId) {
      fallbackCalls.push(tenantId);
      return { used: 7 };
    },
    accepted() {},
  };
  const billing: BillingUsage = {
    async report() {
      throw new Error('not used');
    },
    read(tenantId) {
      reads.push(tenantId);
      return (options.read ?? (async (t) => usage(t, 40)))(tenantId);
    },
  };
  const log = captureLogger('chat', 'info');
  const quota = new BillingQuota({
    billing,
    meter,
    fallback,
    logger: log.logger,
    now: options.now ?? (() => Date.parse('2026-12-15T00:00:00.000Z')),
    readBudgetMs: 200,
    coolOffMs: 60_000,
  });
  return { quota, reads, unreported, meter, fallbackCalls, log };
}

describe('the quota against billing’s count', () => {
  it('billing’s figure plus this instance’s sends billing has not counted; the period end says when it resets', async () => {
    const s = setup();
    s.unreported.set('a', 3);
    assert.deepEqual(await s.quota.use('a', 30), { used: 43, resetsAt: PERIOD_END });
    // Held now: no second read.
    assert.deepEqual(await s.quota.use('a', 30), { used: 43, resetsAt: PERIOD_END });
    assert.deepEqual(s.reads, ['a']);
    // A counted batch brings a newer figure (those 3 are in it now).
    s.unreported.set('a', 0);
    s.quota.learn([usage('a', 60)]);
    assert.equal((await s.quota.use('a', 30)).used, 60);
    assert.deepEqual(s.fallbackCalls, []);
  });

  it('an old figure serves while it is read again in the background; a figure of a past period is not used', async () => {
    let now = Date.parse('2026-12-15T00:00:00.000Z');
    let answer = usage('a', 10);
    let gate: Promise<void> = Promise.resolve();
    const s = setup({
      now: () => now,
      read: async () => {
        await gate;
        return answer;
      },
    });
    assert.equal((await s.quota.use('a', 30)).used, 10);
    now += 11_000;
    answer = usage('a', 20);
    let release!: () => void;
    gate = new Promise((r) => {
      release = r;
    });
    // Stale: answered at once from the old figure while the read goes on behind.
    assert.equal((await s.quota.use('a', 30)).used, 10);
    assert.equal(s.reads.length, 2);
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal((await s.quota.use('a', 30)).used, 20);

    // The period ended: the next use reads the new period's count.
    now = PERIOD_END + 1;
    answer = usage('a', 0, PERIOD_END + 31 * 86_400_000);
    assert.deepEqual(await s.quota.use('a', 30), { used: 0, resetsAt: PERIOD_END + 31 * 86_400_000 });
    assert.equal(s.reads.length, 3);
    assert.deepEqual(s.fallbackCalls, []);
  });

  it('billing unreadable: chat’s own count answers, and sends stop trying billing for a while', async () => {
    const s = setup({ read: async () => Promise.reject(new Error('connect ECONNREFUSED')) });
    assert.deepEqual(await s.quota.use('a', 30), { used: 7 });
    assert.deepEqual(await s.quota.use('b', 30), { used: 7 });
    assert.deepEqual(s.reads, ['a'], 'cooling off after the failed read');
    assert.deepEqual(s.fallbackCalls, ['a', 'b']);
    assert.ok(s.log.lines.some((x) => String(x.msg).includes("billing's count unreadable")));
  });

  it('billing slow: a send waits at most the read budget, then chat’s own count answers', async () => {
    const s = setup({ read: () => new Promise(() => {}) });
    const started = performance.now();
    assert.deepEqual(await s.quota.use('a', 30), { used: 7 });
    assert.ok(performance.now() - started < 5_000);
  });

  it('while reports fail, a tenant without a figure does not wait for billing at all', async () => {
    const s = setup();
    s.meter.healthy = false;
    assert.deepEqual(await s.quota.use('a', 30), { used: 7 });
    assert.deepEqual(s.reads, []);
  });
});
