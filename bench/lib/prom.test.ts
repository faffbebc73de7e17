import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics, parseMetrics } from './prom.ts';

test('reads series, labels and values from the Prometheus text format', () => {
  const m = new Metrics(
    parseMetrics(`# HELP gateway_user_lookups_total User lookups
# TYPE gateway_user_lookups_total counter
gateway_user_lookups_total{result="hit"} 390
gateway_user_lookups_total{result="miss"} 10
gateway_circuit_breaker_state{service="flaky"} 1
gateway_circuit_breaker_state{service="steady"} 0
weird{path="a \\"quoted\\" one",x="1"} 2.5e3
process_resident_memory_bytes 123456789
`),
  );
  assert.equal(m.sum('gateway_user_lookups_total'), 400);
  assert.equal(m.sum('gateway_user_lookups_total', { result: 'miss' }), 10);
  assert.equal(m.value('gateway_circuit_breaker_state', { service: 'flaky' }), 1);
  assert.equal(m.value('gateway_circuit_breaker_state', { service: 'steady' }), 0);
  assert.equal(m.value('gateway_circuit_breaker_state', { service: 'none' }), undefined);
  assert.equal(m.value('weird', { path: 'a "quoted" one' }), 2500);
  assert.equal(m.value('process_resident_memory_bytes'), 123456789);
});
