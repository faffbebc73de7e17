import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TenantUsage, UsageReportBatch } from '@gatehouse/kit';
import { createMetricsRegistry, type Registry } from '@gatehouse/kit/service';
import { captureLogger } from '@gatehouse/kit/testing';
import type { BillingUsage, ReportOutcome } from '../src/usage/billing-usage.ts';
import { UsageReporter, type UsageReporterOptions } from '../src/usage/reporter.ts';

/**
 * The reporter's policy against a ledger that keeps billing's promise (a key
 * is counted once; the same key with another body would be refused) and can
 * be down, lose its answers, or refuse: what reaches the ledger is exactly
 * what was recorded, never more.
 */

type Mode = 'up' | 'down' | 'answer-lost' | 'refuse';

function ledger() {
  const counts = new Map<string, number>();
  const bodies = new Map<string, string>();
  const attempts: { key: string; batch: UsageReportBatch }[] = [];
  let mode: Mode = 'up';
  let gate: Promise<void> | undefined;
  const billing: BillingUsage = {
    async report(batch, key) {
      attempts.push({ key, batch });
      await gate;
      if (mode === 'down') return { kind: 'retry', reason: 'connect ECONNREFUSED' };
      if (mode === 'refuse') return { kind: 'refused', reason: 'billing answered 400 (BILL_VALIDATION)' };
      const body = JSON.stringify(batch);
      const earlier = bodies.get(key);
      if (earlier !== undefined && earlier !== body) throw new Error(`key ${key} reused with another body`);
      if (earlier === undefined) {
        bodies.set(key, body);
        for (const r of batch.reports) counts.set(r.tenantId, (counts.get(r.tenantId) ?? 0) + r.messages);
      }
      if (mode === 'answer-lost') return { kind: 'retry', reason: 'socket hang up' };
      const usage: TenantUsage[] = batch.reports.map((r) => ({
        tenantId: r.tenantId,
        periodStart: '2026-12-01T00:00:00.000Z',
        periodEnd: '2027-01-01T00:00:00.000Z',
        messages: counts.get(r.tenantId) ?? 0,
        messageQuota: 10_000,
        remaining: 10_000 - (counts.get(r.tenantId) ?? 0),
      }));
      return { kind: 'counted', usage } satisfies ReportOutcome;
    },
    async read() {
      throw new Error('not used');
    },
  };
  return {
    billing,
    counts,
    attempts,
    setMode(m: Mode) {
      mode = m;
    },
    /** Holds every answer until the returned function is called. */
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((r) => {
        release = r;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

function reporter(billing: BillingUsage, extra: Partial<UsageReporterOptions> = {}) {
  const log = captureLogger('chat', 'info');
  const metrics: Registry = createMetricsRegistry('chat');
  const r = new UsageReporter({
    billing,
    logger: log.logger,
    metrics,
    flushMs: 60_000,
    instanceId: 'test',
    backoff: { initialMs: 20, maxMs: 80 },
    random: () => 1,
    ...extra,
  });
  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const found = (await metrics.getMetricsAsJSON()).find((m) => m.name === name);
    const value = found?.values.find((v) =>
      Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
    );
    return Number(value?.value ?? 0);
  }
  return { r, log, metric };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > 10_000) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const record = (r: UsageReporter, tenantId: string, n: number) => {
  for (let i = 0; i < n; i++) r.record(tenantId);
};

describe('the usage reporter', () => {
  it('sends each tenant’s count in one batch under a key of its own; billing’s totals come back', async () => {
    const l = ledger();
    const learnt: TenantUsage[] = [];
    const { r, metric } = reporter(l.billing, { onCounted: (u) => learnt.push(...u) });
    record(r, 'a', 3);
    record(r, 'b', 2);
    assert.equal(r.unreported('a'), 3);
    await r.flush();
    assert.deepEqual(l.attempts, [
      {
        key: 'chat:test:1',
        batch: {
          reports: [
            { tenantId: 'a', messages: 3 },
            { tenantId: 'b', messages: 2 },
          ],
        },
      },
    ]);
    assert.deepEqual(Object.fromEntries(l.counts), { a: 3, b: 2 });
    assert.equal(r.unreported('a'), 0);
    assert.deepEqual(
      learnt.map((u) => [u.tenantId, u.messages]),
      [
        ['a', 3],
        ['b', 2],
      ],
    );
    record(r, 'a', 1);
    await r.flush();
    assert.equal(l.attempts[1]?.key, 'chat:test:2');
    assert.equal(l.counts.get('a'), 4);
    assert.equal(await metric('chat_usage_messages_reported_total'), 6);
    assert.equal(await metric('chat_usage_batches_total', { outcome: 'counted' }), 2);
    await r.flush();
    assert.equal(l.attempts.length, 2, 'nothing waiting: nothing sent');
  });

  it('billing down: the batch is kept and sent again, unchanged, after a growing back-off; nothing lost or doubled', async () => {
    const l = ledger();
    const { r, log, metric } = reporter(l.billing, { flushMs: 5 });
    l.setMode('down');
    record(r, 'a', 5);
    await r.flush();
    // Backing off: an immediate flush does not call billing again.
    await r.flush();
    assert.equal(l.attempts.length, 1);
    r.start();
    await until(() => l.attempts.length >= 4, 'three retries');
    // Sends during the outage wait behind the batch in flight.
    record(r, 'a', 2);
    record(r, 'c', 1);
    assert.equal(r.unreported('a'), 7);
    assert.equal(r.healthy, false);
    l.setMode('up');
    await until(() => l.counts.get('c') === 1, 'the sends after the outage');
    assert.ok(new Set(l.attempts.slice(0, 4).map((a) => a.key)).size === 1, 'one key for the kept batch');
    assert.deepEqual(Object.fromEntries(l.counts), { a: 7, c: 1 });
    assert.equal(r.healthy, true);
    const waits = log.lines.filter(
      (x) => x.msg === 'usage reports: billing did not take the batch; kept, retrying',
    );
    assert.deepEqual(
      waits.slice(0, 4).map((x) => x.retryInMs),
      [20, 40, 80, 80],
    );
    assert.ok((await metric('chat_usage_batches_total', { outcome: 'retry' })) >= 3);
    assert.ok(
      log.lines.some((x) => x.msg === 'usage reports: billing takes reports again; nothing was lost'),
    );
    await r.close();
  });

  it('an answer lost after billing counted: the retry under the same key is not counted again', async () => {
    const l = ledger();
    const { r } = reporter(l.billing, { flushMs: 5 });
    l.setMode('answer-lost');
    record(r, 'a', 4);
    await r.flush();
    assert.equal(l.counts.get('a'), 4);
    r.start();
    await until(() => l.attempts.length >= 3, 'retries');
    l.setMode('up');
    await until(() => r.unreported('a') === 0, 'the answer');
    assert.equal(l.counts.get('a'), 4);
    await r.close();
  });

  it('a send never waits for billing: while a batch is in flight, sends gather for the next batch', async () => {
    const l = ledger();
    const { r } = reporter(l.billing);
    const release = l.hold();
    record(r, 'a', 1);
    const inFlight = r.flush();
    const started = performance.now();
    record(r, 'a', 1000);
    assert.ok(performance.now() - started < 1_000);
    assert.equal(r.unreported('a'), 1001);
    release();
    await inFlight;
    await r.flush();
    assert.deepEqual(
      l.attempts.map((a) => a.batch.reports[0]?.messages),
      [1, 1000],
    );
  });

  it('more tenants than a batch holds go in several batches at once', async () => {
    const l = ledger();
    const { r } = reporter(l.billing);
    for (let i = 0; i < 1_201; i++) r.record(`t${i}`);
    await r.flush();
    assert.deepEqual(
      l.attempts.map((a) => a.batch.reports.length),
      [500, 500, 201],
    );
    assert.equal(l.counts.size, 1_201);
  });

  it('bounded memory: past the tenant limit a new tenant’s sends are dropped, counted and logged once', async () => {
    const l = ledger();
    const { r, log, metric } = reporter(l.billing, { maxPendingTenants: 2 });
    record(r, 'a', 2);
    record(r, 'b', 1);
    record(r, 'c', 3);
    record(r, 'a', 1);
    assert.equal(await metric('chat_usage_messages_dropped_total', { reason: 'overflow' }), 3);
    // An id billing cannot take would spoil a whole batch: it is dropped alone.
    r.record('x'.repeat(65));
    assert.equal(await metric('chat_usage_messages_dropped_total', { reason: 'invalid' }), 1);
    assert.equal(log.lines.filter((x) => String(x.msg).includes('too many tenants waiting')).length, 1);
    await r.flush();
    assert.deepEqual(Object.fromEntries(l.counts), { a: 3, b: 1 });
  });

  it('a batch billing refuses is dropped (counted and logged), and the next one goes through', async () => {
    const l = ledger();
    const { r, log, metric } = reporter(l.billing);
    l.setMode('refuse');
    record(r, 'a', 2);
    await r.flush();
    l.setMode('up');
    record(r, 'a', 1);
    await r.flush();
    assert.equal(l.counts.get('a'), 1);
    assert.equal(await metric('chat_usage_messages_dropped_total', { reason: 'refused' }), 2);
    assert.ok(log.lines.some((x) => x.level === 'error' && String(x.msg).includes('refused the batch')));
  });

  it('close hands billing what is left; with billing down it gives up at the deadline and logs the counts', async () => {
    const l = ledger();
    const { r, log } = reporter(l.billing);
    record(r, 'a', 2);
    await r.close();
    assert.equal(l.counts.get('a'), 2);
    r.record('a');
    assert.equal(l.counts.get('a'), 2, 'nothing after close');

    const down = ledger();
    const { r: r2, log: log2, metric } = reporter(down.billing, { drainMs: 300 });
    down.setMode('down');
    record(r2, 'a', 4);
    record(r2, 'b', 1);
    const started = Date.now();
    await r2.close();
    assert.ok(Date.now() - started < 5_000);
    assert.ok(down.attempts.length >= 2, 'retried during the drain');
    const lost = log2.lines.find((x) => String(x.msg).includes('before shutdown'));
    assert.deepEqual(lost?.byTenant, { a: 4, b: 1 });
    assert.equal(lost?.lostMessages, 5);
    assert.equal(await metric('chat_usage_messages_dropped_total', { reason: 'shutdown' }), 5);
    assert.ok(log.lines.some((x) => x.msg === 'usage reports: everything handed to billing'));
  });
});
