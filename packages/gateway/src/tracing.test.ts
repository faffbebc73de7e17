import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { RequestTracing } from './tracing.ts';

const parent = (flags: string) =>
  /^(.*)-(.*)-(.*)$/.exec(`0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-${flags}`);

describe('RequestTracing.sampled', () => {
  const tracer = trace.getTracer('unused');

  it('follows the caller’s sampled flag whatever the ratio', () => {
    assert.equal(new RequestTracing(tracer, 0).sampled(parent('01')), true);
    assert.equal(new RequestTracing(tracer, 1).sampled(parent('00')), false);
    assert.equal(new RequestTracing(tracer, 0).sampled(parent('03')), true, 'other flag bits do not matter');
  });

  it('records the configured share of new traces', () => {
    assert.equal(new RequestTracing(tracer, 1).sampled(null), true);
    assert.equal(new RequestTracing(tracer, 0).sampled(null), false);
    const tenth = new RequestTracing(tracer, 0.1);
    let recorded = 0;
    for (let i = 0; i < 20_000; i++) if (tenth.sampled(null)) recorded++;
    // 20,000 draws at p = 0.1: the standard deviation is about 42, the bounds are ±7 of them.
    assert.ok(recorded > 1_700 && recorded < 2_300, `${recorded} of 20000`);
  });
});
