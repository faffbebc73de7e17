import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, createMetricsRegistry, memoryLimitBytes } from './metrics.ts';

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
    assert.doesNotMatch(text, /^nodejs_active_\w+_total/m, 'no gauge named *_total');
    assert.match(text, /^# TYPE nodejs_active_handles gauge$/m);
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

describe('memoryLimitBytes', () => {
  const GiB = 1024 ** 3;
  const files = (map: Record<string, string>) => (path: string) => {
    const text = map[path];
    if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return text;
  };

  it('is the cgroup v2 limit when one is set', () => {
    assert.equal(memoryLimitBytes(files({ '/sys/fs/cgroup/memory.max': `${GiB}\n` }), 8 * GiB), GiB);
  });

  it('is the cgroup v1 limit when only v1 is there', () => {
    const read = files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': `${2 * GiB}\n` });
    assert.equal(memoryLimitBytes(read, 8 * GiB), 2 * GiB);
  });

  it('is the machine memory with no limit ("max", v1\'s huge number) or no cgroup files', () => {
    assert.equal(memoryLimitBytes(files({ '/sys/fs/cgroup/memory.max': 'max\n' }), 8 * GiB), 8 * GiB);
    const v1 = files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n' });
    assert.equal(memoryLimitBytes(v1, 8 * GiB), 8 * GiB);
    assert.equal(memoryLimitBytes(files({}), 8 * GiB), 8 * GiB);
  });

  it('is exported by every registry', async () => {
    const text = await createMetricsRegistry('svc-memory').metrics();
    assert.match(text, /^gatehouse_memory_limit_bytes \d+$/m);
  });
});
