import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Contender, Round } from './contest.ts';
import { roundOrder } from './contest.ts';
import type { Sample } from './load.ts';
import {
  buildRows,
  fullVsFoundation,
  gatewayVsPeers,
  markdownTable,
  observabilityCost,
  roundsTable,
} from './report.ts';

const sample = (rps: number): Sample => ({
  rps,
  p50: 1,
  p90: 2,
  p99: 3,
  ok: rps,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  seconds: 1,
  statusCodes: { 200: rps },
});
const round = (rps: number, i: number): Round => ({
  round: i,
  sample: sample(rps),
  proxyCpuUsPerReq: 10,
  upstreamCpuUsPerReq: 5,
  helperCpuUsPerReq: Number.NaN,
  clientCpuPct: 50,
  otherCpuPct: 0,
});
const contender = (id: Contender['id']) => ({ id, label: id, target: { url: 'http://x' } }) as Contender;

test('medians over rounds and ratios to direct and fast-gateway', () => {
  const rows = buildRows(
    [contender('direct'), contender('gateway-reused'), contender('fast-gateway')],
    new Map([
      ['direct', [40, 10, 50].map(round)],
      ['gateway-reused', [8, 9, 10].map(round)],
      ['fast-gateway', [6, 5, 4].map(round)],
    ]),
  );
  const gw = rows.find((r) => r.id === 'gateway-reused');
  assert.equal(gw?.rps, 9);
  assert.equal(gw?.vsDirect, 9 / 40);
  assert.equal(gw?.vsFastGateway, 9 / 5);
  assert.match(
    markdownTable(rows, [{ label: 'nginx', reason: 'not installed' }]),
    /\| nginx \| skipped: not installed \|/,
  );
});

test('each round starts one contender further along', () => {
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
});

test('the per-round table has as many cells as headers', () => {
  const rows = buildRows([contender('direct')], new Map([['direct', [round(10, 0)]]]));
  const [header, , line] = roundsTable(rows).split('\n');
  assert.equal(line?.split('|').length, header?.split('|').length);
});

test('the full pipeline is reported as a share of the foundation gateway', () => {
  const rows = buildRows(
    [contender('direct'), contender('gateway-reused'), contender('gateway-full')],
    new Map([
      ['direct', [40].map(round)],
      ['gateway-reused', [10, 10, 10].map(round)],
      ['gateway-full', [8, 9, 9].map(round)],
    ]),
  );
  // The median is 90%, but one round fell to 80%: the target asks for every round.
  assert.match(
    fullVsFoundation(rows) ?? '',
    /^full pipeline with Redis: 90% of the foundation gateway's throughput, per round 80%, 90%, 90% \(target ≥ 85% in every round: target NOT met\)/,
  );
  assert.equal(fullVsFoundation(rows.filter((r) => r.id !== 'gateway-full')), undefined);
});

test('the cost of metrics and tracing is reported against both off, with the verdict', () => {
  const rows = buildRows(
    [contender('direct'), contender('gateway-bare'), contender('gateway-traced')],
    new Map([
      ['direct', [40].map(round)],
      ['gateway-bare', [10].map(round)],
      ['gateway-traced', [9].map(round)],
    ]),
  );
  assert.match(observabilityCost(rows) ?? '', /cost 10\.0% of throughput .*target NOT met/);
  assert.equal(observabilityCost(rows.filter((r) => r.id !== 'gateway-bare')), undefined);
});

test('the gateway is judged against fast-gateway and nginx, round by round', () => {
  const rows = buildRows(
    [contender('direct'), contender('gateway-reused'), contender('fast-gateway'), contender('nginx')],
    new Map([
      ['direct', [40, 40].map(round)],
      ['gateway-reused', [10, 12].map(round)],
      ['fast-gateway', [10, 10].map(round)],
      ['nginx', [50, 50].map(round)],
    ]),
  );
  const line = gatewayVsPeers(rows) ?? '';
  assert.match(line, /1\.10× fast-gateway's throughput, 1\.00×, 1\.20× per round \(target ≥ 1\.0×: met\)/);
  assert.match(line, /22% of nginx's \(target ≥ 30%: NOT met\)/);
  assert.equal(gatewayVsPeers(rows.filter((r) => r.id !== 'gateway-reused')), undefined);
});
