import type { ModeResult } from './chat-mode.ts';
import type { ChatBenchOptions } from './chat-options.ts';
import type { Machine } from './machine.ts';

/** The chat bench's report: results/chat.json and results/chat.md, and the summary it prints. */
export interface ChatReport {
  readonly date: string;
  readonly command: string;
  readonly revision: string;
  readonly machine: Machine;
  readonly options: ChatBenchOptions;
  /** How the platform was set up (backends, what the bench changed and why). */
  readonly setup: readonly string[];
  /** What the run itself showed about the figures (load generator limits, saturation …). */
  readonly notes: readonly string[];
  readonly modes: readonly ModeResult[];
}

export const P99_TARGET_MS = 50;

const ms = (v: number) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : '—');
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');
const kib = (bytes: number, clients: number) =>
  clients > 0 && Number.isFinite(bytes) ? `${(bytes / clients / 1024).toFixed(1)} KiB` : '—';
const pct = (v: number) => (Number.isFinite(v) ? `${Math.round(v * 100)} %` : '—');

export function targetsMet(r: ModeResult): { p99: boolean; noLoss: boolean } {
  return {
    p99: r.latencyMs.p99 <= P99_TARGET_MS,
    noLoss:
      r.deliveries.lost === 0 && r.send.failed === 0 && r.connect.failed === 0 && r.deliveries.expected > 0,
  };
}

function memoryCell(
  r: ModeResult,
  kind: 'chat' | 'gateway',
  field: 'rssDeltaBytes' | 'heapDeltaBytes',
): string {
  const rows = r.memory.filter((m) => m.name.startsWith(kind));
  if (rows.length === 0) return '—';
  const each = rows.map((m) => `${m.name} ${kib(m[field], m.clients)}`).join(', ');
  const total = rows.reduce((a, m) => a + m[field], 0);
  return `${kib(total, r.connect.connected)} (${each})`;
}

/** gateway ÷ direct of a figure, when both modes ran. */
function ratio(modes: readonly ModeResult[], pick: (r: ModeResult) => number): string {
  const d = modes.find((m) => m.mode === 'direct');
  const g = modes.find((m) => m.mode === 'gateway');
  if (d === undefined || g === undefined) return '';
  const v = pick(g) / pick(d);
  return Number.isFinite(v) ? `${v.toFixed(2)}×` : '—';
}

export function markdownTable(modes: readonly ModeResult[]): string {
  const both = modes.some((m) => m.mode === 'direct') && modes.some((m) => m.mode === 'gateway');
  const head = `| | ${modes.map((m) => (m.mode === 'direct' ? 'direct (no gateway)' : 'through the gateway')).join(' | ')} |${both ? ' gateway ÷ direct |' : ''}`;
  const sep = `| --- |${modes.map(() => ' ---: |').join('')}${both ? ' ---: |' : ''}`;
  const row = (label: string, cell: (r: ModeResult) => string, pick?: (r: ModeResult) => number) =>
    `| ${label} | ${modes.map(cell).join(' | ')} |${both ? ` ${pick === undefined ? '' : ratio(modes, pick)} |` : ''}`;
  const groups = [...new Set(modes.flatMap((m) => Object.keys(m.cpu.perDeliveryUs)))];
  return [
    head,
    sep,
    row(
      'sockets ready / clients (attempts retried)',
      (r) =>
        `${int(r.connect.connected)} / ${int(r.clients)} (${int(r.connect.retried)})${r.connect.failed > 0 ? ' **(failures)**' : ''}`,
    ),
    row(
      'time to connect every client',
      (r) => `${r.connect.seconds.toFixed(1)} s`,
      (r) => r.connect.seconds,
    ),
    row('messages accepted / sent', (r) => `${int(r.send.accepted)} / ${int(r.send.total)}`),
    row('send rate achieved (target)', (r) => `${r.send.achievedRate.toFixed(0)}/s (${r.send.targetRate}/s)`),
    row(
      'deliveries delivered / expected',
      (r) => `${int(r.deliveries.delivered)} / ${int(r.deliveries.expected)}`,
    ),
    row('**lost** · duplicates', (r) => `**${int(r.deliveries.lost)}** · ${int(r.deliveries.duplicates)}`),
    row(
      '**send → deliver p50**',
      (r) => `**${ms(r.latencyMs.p50)}**`,
      (r) => r.latencyMs.p50,
    ),
    row(
      '**send → deliver p99**',
      (r) => `**${ms(r.latencyMs.p99)}**`,
      (r) => r.latencyMs.p99,
    ),
    row('send → deliver max', (r) => ms(r.latencyMs.max)),
    row(
      'POST answered p50 / p99 (from when due)',
      (r) => `${ms(r.send.answerMs.p50)} / ${ms(r.send.answerMs.p99)}`,
    ),
    ...groups.map((g) =>
      row(
        `CPU per delivery: ${g}`,
        (r) => (r.cpu.perDeliveryUs[g] === undefined ? '—' : `${r.cpu.perDeliveryUs[g]?.toFixed(1)} µs`),
        g === 'chat' || g === 'gateway' ? (r) => r.cpu.perDeliveryUs[g] ?? Number.NaN : undefined,
      ),
    ),
    row('machine busy during the run (% of one core)', (r) => `${Math.round(r.cpu.machineBusyPct)} %`),
    row('RSS per connected client: chat', (r) => memoryCell(r, 'chat', 'rssDeltaBytes')),
    row('V8 heap per connected client: chat', (r) => memoryCell(r, 'chat', 'heapDeltaBytes')),
    row('RSS per connected client: gateway', (r) => memoryCell(r, 'gateway', 'rssDeltaBytes')),
    row('V8 heap per connected client: gateway', (r) => memoryCell(r, 'gateway', 'heapDeltaBytes')),
    row(
      '**history reads/s** (limit=50)',
      (r) => `**${int(r.history.rate)}**`,
      (r) => r.history.rate,
    ),
    row(
      'history read p50 / p99',
      (r) => `${ms(r.history.p50)} / ${ms(r.history.p99)}`,
      (r) => r.history.p99,
    ),
    row('target p99 ≤ 50 ms', (r) => (targetsMet(r).p99 ? 'met' : '**not met**')),
    row('target: no message lost', (r) => (targetsMet(r).noLoss ? 'met' : '**not met**')),
  ].join('\n');
}

/** Load-generator and other warnings that change how the figures read. */
export function runNotes(modes: readonly ModeResult[]): string[] {
  const notes: string[] = [];
  for (const [index, r] of modes.entries()) {
    if (index > 0)
      notes.push(
        `${r.mode}: the chat instances had held the previous mode's sockets, and a process keeps memory it freed: chat's memory per client here understates it (read it from ${modes[0]?.mode})`,
      );
    const lg = r.loadGenerator;
    const busiest = Math.max(lg.senderUtilization, ...lg.receiverUtilization);
    const cpu = r.cpu.seconds['load generator'] ?? 0;
    notes.push(
      `${r.mode}: load generator used ${((cpu / r.cpu.windowSeconds) * 100).toFixed(0)} % of one core ` +
        `(${(r.cpu.perDeliveryUs['load generator'] ?? Number.NaN).toFixed(1)} µs per delivery); event loops busy: sender ${pct(lg.senderUtilization)}, ` +
        `receivers ${lg.receiverUtilization.map(pct).join(', ')} (${lg.workers} worker thread${lg.workers === 1 ? '' : 's'}); ` +
        `sender lateness p99 ${ms(r.send.latenessMs.p99)}, max ${ms(r.send.latenessMs.max)}` +
        (busiest > 0.9
          ? ' — **the load generator was a limit: a thread of it was busy over 90 % of the time, so latencies include its own queueing**'
          : r.send.latenessMs.p99 > 10
            ? ' — **the sender went out late although its thread was mostly idle: it waited for a core (the machine was saturated)**'
            : ''),
    );
    if (r.cpu.machineBusyPct > 180)
      notes.push(
        `${r.mode}: the machine was ${Math.round(r.cpu.machineBusyPct)} % busy (of one core; 200 % is both cores): CPU-bound, latencies include queueing for a core`,
      );
    if (Object.keys(r.deliveries.closes).length > 0)
      notes.push(`${r.mode}: sockets closed during the run, by code: ${JSON.stringify(r.deliveries.closes)}`);
    if (Object.keys(r.deliveries.droppedByChat).length > 0)
      notes.push(
        `${r.mode}: chat dropped events (chat_ws_events_dropped_total): ${JSON.stringify(r.deliveries.droppedByChat)}`,
      );
    if (r.deliveries.ofFailedSends > 0 || r.deliveries.foreign > 0)
      notes.push(
        `${r.mode}: ${r.deliveries.ofFailedSends} deliveries of messages whose send failed on the client; ${r.deliveries.foreign} in a channel the client is not in`,
      );
    if (r.send.failed > 0) notes.push(`${r.mode}: failed sends: ${JSON.stringify(r.send.errors)}`);
    if (Object.keys(r.connect.errors).length > 0)
      notes.push(
        `${r.mode}: ${r.connect.failed} clients could not connect, ${r.connect.retried} attempts were retried; failed attempts by reason: ${JSON.stringify(r.connect.errors)}`,
      );
    const heap = r.memory.reduce((a, m) => a + Math.abs(m.heapDeltaBytes), 0);
    if (heap < 32 * 1024 * 1024 || r.memory.some((m) => m.heapDeltaBytes < 0))
      notes.push(
        `${r.mode}: the V8 heaps moved by ${(heap / 1024 / 1024).toFixed(1)} MiB in all (absolute), some perhaps downwards: within a heap's swing between collections, so the heap per client is noise at this scale (RSS is steadier)`,
      );
    if (r.history.failed > 0)
      notes.push(`${r.mode}: history reads not answered 2xx: ${JSON.stringify(r.history.statusCodes)}`);
  }
  return notes;
}

export function renderMarkdown(r: ChatReport): string {
  const o = r.options;
  return [
    `# Chat fan-out: ${o.clients.toLocaleString('en-US')} clients in ${o.channels} channels of ${o.members}, ${o.rate} messages/s for ${o.seconds} s`,
    '',
    `Run ${r.date} · \`${r.command}\` · at ${r.revision}`,
    '',
    `Machine: ${r.machine.cores} cores, ${r.machine.cpuModel}, Linux ${r.machine.kernel}, Node ${r.machine.node}.`,
    '',
    markdownTable(r.modes),
    '',
    'Set-up:',
    '',
    ...r.setup.map((s) => `- ${s}`),
    '',
    'What the run showed:',
    '',
    ...r.notes.map((s) => `- ${s}`),
    '',
  ].join('\n');
}

export function summary(r: ChatReport): string {
  const lines = r.modes.map((m) => {
    const t = targetsMet(m);
    return (
      `${m.mode.padEnd(8)} p50 ${ms(m.latencyMs.p50)}  p99 ${ms(m.latencyMs.p99)}  max ${ms(m.latencyMs.max)}  ` +
      `delivered ${int(m.deliveries.delivered)}/${int(m.deliveries.expected)} (lost ${m.deliveries.lost})  ` +
      `chat ${(m.cpu.perDeliveryUs.chat ?? Number.NaN).toFixed(1)} µs/delivery` +
      (m.cpu.perDeliveryUs.gateway === undefined
        ? ''
        : `, gateway ${m.cpu.perDeliveryUs.gateway.toFixed(1)} µs/delivery`) +
      `  history ${int(m.history.rate)}/s  targets: p99 ${t.p99 ? 'met' : 'NOT met'}, no loss ${t.noLoss ? 'met' : 'NOT met'}`
    );
  });
  return lines.join('\n');
}
