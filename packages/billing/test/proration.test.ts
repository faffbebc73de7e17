import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Plan } from '../src/domain/catalogue.ts';
import { CATALOGUE_V1, planOf } from '../src/domain/catalogue.ts';
import { addMonths } from '../src/domain/clock.ts';
import { amountDue, draftInvoice } from '../src/domain/invoice.ts';
import { money } from '../src/domain/money.ts';
import { mulDivRound, prorationLines } from '../src/domain/proration.ts';

function plan(id: 'standard' | 'premium', amount: number): Plan {
  return { ...planOf(CATALOGUE_V1, id), price: money(amount, 'EUR') };
}

const price = fc.integer({ min: 0, max: 100_000_000 });
const period = fc
  .tuple(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: 1, max: 400 * 86_400_000 }))
  .chain(([start, length]) =>
    fc.record({
      start: fc.constant(start),
      end: fc.constant(start + length),
      at: fc.integer({ min: start, max: start + length }),
    }),
  );

describe('proration', () => {
  it('rounds a × b / c half up, exactly, beyond 2^53 intermediates', () => {
    assert.equal(mulDivRound(9_900, 1, 2), 4_950);
    assert.equal(mulDivRound(1, 1, 2), 1);
    assert.equal(mulDivRound(1, 1, 3), 0);
    assert.equal(mulDivRound(-5, 1, 2), -3);
    assert.equal(mulDivRound(99_999_999, 31 * 86_400_000, 31 * 86_400_000), 99_999_999);
    assert.throws(() => mulDivRound(1, 1, 0), RangeError);
  });

  it('charges the new plan and credits the old for exactly the time left (a worked example)', () => {
    const start = Date.parse('2026-03-01T00:00:00Z');
    const end = addMonths(start, 1);
    const at = start + (end - start) / 2;
    const lines = prorationLines({
      from: plan('standard', 1_900),
      to: plan('premium', 9_900),
      periodStart: start,
      periodEnd: end,
      at,
    });
    assert.deepEqual(
      lines.map((l) => [l.description, l.amount, l.proration]),
      [
        ['Unused time on Standard', -950, true],
        ['Remaining time on Premium', 4_950, true],
      ],
    );
    const invoice = draftInvoice('upgrade', 'EUR', lines, {
      planId: 'premium',
      periodStart: at,
      periodEnd: end,
    });
    assert.equal(invoice.total, 4_000);
  });

  it('property: every invoice total is the integer sum of its lines, and each line is within its plan price', () => {
    fc.assert(
      fc.property(price, price, period, (a, b, p) => {
        const from = plan('standard', a);
        const to = plan('premium', b);
        const lines = prorationLines({ from, to, periodStart: p.start, periodEnd: p.end, at: p.at });
        const invoice = draftInvoice('upgrade', 'EUR', lines, {
          planId: 'premium',
          periodStart: p.at,
          periodEnd: p.end,
        });
        let sum = 0;
        for (const line of invoice.lines) {
          assert.ok(Number.isSafeInteger(line.amount));
          sum += line.amount;
        }
        assert.equal(invoice.total, sum);
        const [credit, charge] = lines;
        assert.ok(credit !== undefined && charge !== undefined);
        assert.ok(credit.amount <= 0 && -credit.amount <= a);
        assert.ok(charge.amount >= 0 && charge.amount <= b);
        assert.ok(amountDue(invoice) >= 0);
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: an upgrade never costs less than zero nor more than the new price', () => {
    fc.assert(
      fc.property(price, price, period, (x, y, p) => {
        const [low, high] = x <= y ? [x, y] : [y, x];
        const lines = prorationLines({
          from: plan('standard', low),
          to: plan('premium', high),
          periodStart: p.start,
          periodEnd: p.end,
          at: p.at,
        });
        const total = lines.reduce((s, l) => s + l.amount, 0);
        assert.ok(total >= 0, `total ${total}`);
        assert.ok(total <= high);
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: at the period start the change costs the difference, at its end nothing', () => {
    fc.assert(
      fc.property(price, price, period, (a, b, p) => {
        const input = {
          from: plan('standard', a),
          to: plan('premium', b),
          periodStart: p.start,
          periodEnd: p.end,
        };
        const atStart = prorationLines({ ...input, at: p.start }).reduce((s, l) => s + l.amount, 0);
        const atEnd = prorationLines({ ...input, at: p.end }).map((l) => l.amount);
        assert.equal(atStart, b - a);
        assert.deepEqual(atEnd.map(Math.abs), [0, 0]);
      }),
    );
  });

  it('property: paying later in the period never costs more', () => {
    fc.assert(
      fc.property(price, price, period, fc.integer({ min: 0, max: 1_000_000 }), (x, y, p, shift) => {
        const [low, high] = x <= y ? [x, y] : [y, x];
        const input = {
          from: plan('standard', low),
          to: plan('premium', high),
          periodStart: p.start,
          periodEnd: p.end,
        };
        const later = Math.min(p.end, p.at + shift);
        const total = (at: number) => prorationLines({ ...input, at }).reduce((s, l) => s + l.amount, 0);
        assert.ok(
          total(later) <= total(p.at) + 1,
          'independent rounding of two lines moves the total by at most 1',
        );
      }),
    );
  });

  it('refuses plans in different currencies, an empty period and fractional amounts', () => {
    const usd = { ...plan('premium', 100), price: money(100, 'USD') };
    assert.throws(
      () => prorationLines({ from: plan('standard', 1), to: usd, periodStart: 0, periodEnd: 10, at: 5 }),
      RangeError,
    );
    assert.throws(
      () =>
        prorationLines({
          from: plan('standard', 1),
          to: plan('premium', 2),
          periodStart: 10,
          periodEnd: 10,
          at: 10,
        }),
      RangeError,
    );
    assert.throws(() => money(19.99, 'EUR'), RangeError);
    assert.throws(() => money(1, 'euro'), RangeError);
    assert.throws(
      () =>
        draftInvoice(
          'upgrade',
          'EUR',
          [{ description: 'x', planId: 'free', amount: 0.5, periodStart: 0, periodEnd: 1, proration: true }],
          { planId: 'free', periodStart: 0, periodEnd: 1 },
        ),
      RangeError,
    );
    assert.throws(
      () => draftInvoice('upgrade', 'EUR', [], { planId: 'free', periodStart: 0, periodEnd: 1 }),
      RangeError,
    );
  });
});
