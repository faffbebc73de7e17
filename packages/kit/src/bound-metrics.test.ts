import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { BoundCounter, BoundHistogram } from './bound-metrics.ts';

/** The same observations through prom-client and through bound series render the same exposition. */
describe('bound metrics', () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const observations: [string, string, number][] = [
    ['GET', '200', 0.0005],
    ['GET', '200', 0.001],
    ['GET', '200', 0.05],
    ['POST', '201', 3],
    ['GET', '404', 0.2],
  ];

  function both() {
    const reference = new Registry();
    const ours = new Registry();
    const counter = new Counter({
      name: 'x_total',
      help: 'h',
      labelNames: ['method', 'status'],
      registers: [reference],
    });
    const histogram = new Histogram({
      name: 'x_seconds',
      help: 'h',
      labelNames: ['method'],
      buckets,
      registers: [reference],
    });
    const boundCounter = new BoundCounter('x_total', 'h', ['method', 'status'], ours);
    const boundHistogram = new BoundHistogram('x_seconds', 'h', ['method'], buckets, ours);
    for (const [method, status, seconds] of observations) {
      counter.inc({ method, status });
      histogram.observe({ method }, seconds);
      boundCounter.series({ method, status }).inc();
      boundHistogram.series({ method }).observe(seconds);
    }
    return { reference, ours, boundCounter, boundHistogram };
  }

  it('renders exactly what prom-client renders for the same observations', async () => {
    const { reference, ours } = both();
    assert.equal(await ours.metrics(), await reference.metrics());
    // The JSON cluster mode exchanges, too (prom-client adds empty exemplar fields; we have none).
    const withoutExemplars = (json: unknown) =>
      JSON.parse(JSON.stringify(json, (key, value) => (key === 'exemplar' ? undefined : value)));
    assert.deepEqual(
      withoutExemplars(await ours.getMetricsAsJSON()),
      withoutExemplars(await reference.getMetricsAsJSON()),
    );
  });

  it('binds a series once: the same object for the same labels, counting from zero', () => {
    const counter = new BoundCounter('y_total', 'h', ['a'], undefined);
    const one = counter.series({ a: '1' });
    assert.equal(counter.series({ a: '1' }), one);
    assert.notEqual(counter.series({ a: '2' }), one);
    one.inc();
    one.inc(2);
    return counter.get().then((m) =>
      assert.deepEqual(m.values, [
        { labels: { a: '1' }, value: 3 },
        { labels: { a: '2' }, value: 0 },
      ]),
    );
  });

  it('sums across workers like prom-client metrics (cluster mode)', async () => {
    const a = both();
    const b = both();
    const merged = AggregatorRegistry.aggregate([
      await a.ours.getMetricsAsJSON(),
      await b.ours.getMetricsAsJSON(),
    ]);
    const text = await merged.metrics();
    assert.match(text, /^x_total\{method="GET",status="200"\} 6$/m);
    assert.match(text, /^x_seconds_bucket\{le="\+Inf",method="GET"\} 8$/m);
    assert.match(text, /^x_seconds_count\{method="POST"\} 2$/m);
  });

  it('reset zeroes every series', async () => {
    const { boundCounter, boundHistogram } = both();
    boundCounter.reset();
    boundHistogram.reset();
    assert.ok((await boundCounter.get()).values.every((v) => v.value === 0));
    assert.ok((await boundHistogram.get()).values.every((v) => v.value === 0));
  });
});
