import { readFileSync } from 'node:fs';

/**
 * Summary of a V8 `.cpuprofile` (from `node --cpu-prof`): self time per
 * function and per area (a package, a Gatehouse source folder, Node's own
 * modules, GC). Only the main thread is sampled: work that Node runs on the
 * libuv thread pool (WebCrypto jobs among them) shows up as process CPU, not
 * here. `--cpu-prof` covers the whole process, start-up included; V8 stamps
 * samples with the system's monotonic clock (the one behind
 * `process.hrtime`), so the bench passes the measured window and samples
 * outside it are left out.
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Entry {
  readonly name: string;
  readonly area: string;
  readonly ms: number;
  readonly pct: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly functions: Entry[];
  readonly areas: Entry[];
  /** Gatehouse's own functions by inclusive time (self + what they call synchronously). */
  readonly own: Entry[];
}

export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return 'native';
  }
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg !== null) return `npm:${pkg[1]}`;
  const own = /\/packages\/([^/]+)\/src\/(?:([^/]+)\/)?/.exec(url);
  if (own !== null)
    return `gatehouse:${own[1]}${own[2] !== undefined && !own[2].endsWith('.ts') ? `/${own[2]}` : ''}`;
  const core = /^node:(?:internal\/)?([^/]+)/.exec(url);
  if (core !== null) return `node:${core[1]}`;
  return 'other';
}

function shortUrl(url: string): string {
  return url
    .replace(/^file:\/\/.*?\/node_modules\//, '')
    .replace(/^file:\/\/.*?\/packages\//, 'packages/')
    .replace(/^node:internal\//, 'node:');
}

/** A time window in µs of the monotonic clock (`process.hrtime.bigint() / 1000n`). */
export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

export function summarise(path: string, window?: Window, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const fn = new Map<string, { area: string; us: number }>();
  const area = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const a = areaOf(frame);
    if (a === 'idle') {
      idleUs += us;
      continue;
    }
    totalUs += us;
    const name = frameName(frame);
    const entry = fn.get(name) ?? { area: a, us: 0 };
    entry.us += us;
    fn.set(name, entry);
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const pct = (us: number) => (totalUs > 0 ? (us / totalUs) * 100 : 0);
  const own = inclusiveOwn(profile, selfUs)
    .slice(0, 15)
    .map((e) => ({ ...e, pct: pct(e.ms * 1000), ms: e.ms }));
  const functions = [...fn.entries()]
    .sort((x, y) => y[1].us - x[1].us)
    .slice(0, top)
    .map(([name, e]) => ({ name, area: e.area, ms: e.us / 1000, pct: pct(e.us) }));
  const areas = [...area.entries()]
    .sort((x, y) => y[1] - x[1])
    .map(([name, us]) => ({ name, area: name, ms: us / 1000, pct: pct(us) }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, functions, areas, own };
}

const frameName = (f: CallFrame) =>
  `${f.functionName || '(anonymous)'}${f.url === '' ? '' : ` ${shortUrl(f.url)}:${f.lineNumber + 1}`}`;

/**
 * Inclusive time of Gatehouse functions. Stacks break at every `await`, so
 * this is the synchronous part of each stage, which is where its CPU goes.
 * A function that appears twice on one stack is counted once.
 */
function inclusiveOwn(
  profile: CpuProfile,
  selfUs: ReadonlyMap<number, number>,
): { name: string; area: string; ms: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, { area: string; us: number }>();
  const walk = (id: number, onStack: ReadonlySet<string>): number => {
    const node = byId.get(id);
    if (node === undefined) return 0;
    const area = areaOf(node.callFrame);
    const name = frameName(node.callFrame);
    const mine = area.startsWith('gatehouse:') && !onStack.has(name);
    const next = mine ? new Set([...onStack, name]) : onStack;
    let us = selfUs.get(id) ?? 0;
    for (const child of node.children ?? []) us += walk(child, next);
    if (mine) {
      const entry = totals.get(name) ?? { area, us: 0 };
      entry.us += us;
      totals.set(name, entry);
    }
    return us;
  };
  const root = profile.nodes[0];
  if (root !== undefined) walk(root.id, new Set());
  return [...totals.entries()]
    .sort((a, b) => b[1].us - a[1].us)
    .map(([name, e]) => ({ name, area: e.area, ms: e.us / 1000 }));
}

const row = (f: Entry) =>
  `| \`${f.name.replaceAll('|', '\\|')}\` | ${f.area} | ${f.ms.toFixed(0)} | ${f.pct.toFixed(1)}% |`;

export function summaryMarkdown(title: string, s: ProfileSummary): string {
  return [
    `### ${title}`,
    '',
    `Busy (non-idle) main-thread time sampled: ${s.totalMs.toFixed(0)} ms; idle ${s.idleMs.toFixed(0)} ms.`,
    '',
    '| area | self ms | share |',
    '| --- | ---: | ---: |',
    ...s.areas.slice(0, 15).map((a) => `| ${a.name} | ${a.ms.toFixed(0)} | ${a.pct.toFixed(1)}% |`),
    '',
    '| function (self time) | area | self ms | share |',
    '| --- | --- | ---: | ---: |',
    ...s.functions.map(row),
    '',
    '| Gatehouse function (inclusive, synchronous part) | area | ms | share |',
    '| --- | --- | ---: | ---: |',
    ...s.own.map(row),
  ].join('\n');
}
