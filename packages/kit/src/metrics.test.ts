import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, createMetricsRegistry } from './metrics.ts';

describe('createMetricsRegistry', () => {
  it('has the default process metrics and names the service once', async () => {
    const registry = createMetricsRegistry('svc-metrics-a');
    const text = await registry.metrics();
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.match(text, new RegExp(`^${name}(\\{[^}]*\\})? `, 'm'), name);
    }
    assert.match(
      text,
      /^gatehouse_service_info\{service="svc-metrics-a",node_version="v\d+\.\d+\.\d+"\} 1$/m,
    );
    assert.equal(registry.contentType.startsWith('text/plain'), true);
  });

  it('keeps registries apart and adds no label of its own to other series', async () => {
    const a = createMetricsRegistry('svc-a');
    const b = createMetricsRegistry('svc-b');
    const requests = new Counter({ name: 'kit_test_requests_total', help: 'test', registers: [a] });
    requests.inc(3);
    const textA = await a.metrics();
    const textB = await b.metrics();
    assert.match(textA, /^kit_test_requests_total 3$/m);
    assert.ok(!textB.includes('kit_test_requests_total'));
    assert.ok(!textB.includes('service="svc-a"'));
    assert.match(textB, /service="svc-b"/);
  });
});
