import { parseArgs } from 'node:util';
import type { Mode, WsAuth } from './chat-access.ts';

/**
 * The chat bench's knobs: a flag, or the variable CHAT_BENCH_<NAME> (flag
 * `--read-seconds` ↔ CHAT_BENCH_READ_SECONDS); the flag wins. Defaults are
 * the shape: 5,000 clients in 50 channels of 100, 500 messages/s.
 * Every problem is reported at once.
 */
export interface ChatBenchOptions {
  readonly clients: number;
  readonly channels: number;
  /** clients / channels. */
  readonly members: number;
  /** Messages per second, all channels together. */
  readonly rate: number;
  readonly seconds: number;
  /** After the last answer, how long to wait for the deliveries still on their way. */
  readonly drainSeconds: number;
  readonly readSeconds: number;
  readonly readConcurrency: number;
  readonly modes: readonly Mode[];
  readonly wsAuth: WsAuth;
  /** Receiver worker threads. */
  readonly workers: number;
  readonly connectConcurrency: number;
  readonly setupConcurrency: number;
  /** LOG_LEVEL of the chat instances and gateways (info: as in production, a line per request). */
  readonly logLevel: string;
}

const SPEC = {
  clients: { default: 5_000, min: 2, max: 100_000, help: 'connected clients (one user and one socket each)' },
  channels: {
    default: 50,
    min: 1,
    max: 10_000,
    help: 'channels (one tenant each); clients / channels members each',
  },
  rate: { default: 500, min: 1, max: 100_000, help: 'messages per second sent, all channels together' },
  seconds: { default: 30, min: 1, max: 3_600, help: 'seconds of sending per mode' },
  'drain-seconds': { default: 10, min: 1, max: 600, help: 'wait for late deliveries after the last answer' },
  'read-seconds': { default: 10, min: 1, max: 600, help: 'seconds of history reads (limit=50) per mode' },
  'read-concurrency': { default: 32, min: 1, max: 4_096, help: 'history readers (closed loop, keep-alive)' },
  workers: { default: 0, min: 0, max: 64, help: 'receiver worker threads (0: one per 2,500 clients)' },
  'connect-concurrency': { default: 64, min: 1, max: 10_000, help: 'handshakes in flight per worker' },
  'setup-concurrency': { default: 16, min: 1, max: 1_000, help: 'set-up calls in flight' },
} as const;
type IntName = keyof typeof SPEC;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function usage(): string {
  const lines = Object.entries(SPEC).map(
    ([name, s]) =>
      `  --${name.padEnd(20)} ${s.help} (default ${s.default}; CHAT_BENCH_${name.toUpperCase().replaceAll('-', '_')})`,
  );
  return [
    'npm --prefix bench run chat -- [options]',
    ...lines,
    `  --${'modes'.padEnd(20)} direct,gateway in this order (default direct,gateway; CHAT_BENCH_MODES)`,
    `  --${'ws-auth'.padEnd(20)} header | ticket: how sockets authenticate at the gateway (default header; CHAT_BENCH_WS_AUTH)`,
    `  --${'log-level'.padEnd(20)} LOG_LEVEL of chat and gateway (default info, as in production: a log line per request, access log included; CHAT_BENCH_LOG_LEVEL)`,
  ].join('\n');
}

export function readChatOptions(argv: readonly string[] = process.argv.slice(2)): ChatBenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...Object.fromEntries(Object.keys(SPEC).map((k) => [k, { type: 'string' as const }])),
      modes: { type: 'string' },
      'ws-auth': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }) as { values: Record<string, string | boolean | undefined> };
  if (values.help === true) return 'help';
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    const env = process.env[`CHAT_BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
    return env === '' ? undefined : env;
  };
  const int = (name: IntName): number => {
    const s = SPEC[name];
    const text = raw(name);
    if (text === undefined) return s.default;
    const value = Number(text);
    if (!Number.isInteger(value) || value < s.min || value > s.max) {
      problems.push(`${name}: an integer from ${s.min} to ${s.max}, not "${text}"`);
      return s.default;
    }
    return value;
  };
  const clients = int('clients');
  const channels = int('channels');
  const members = Math.floor(clients / channels);
  if (members < 2 || members * channels !== clients) {
    problems.push(
      `clients (${clients}) must be a multiple of channels (${channels}), at least 2 per channel`,
    );
  }
  const modes = (raw('modes') ?? 'direct,gateway').split(',').map((m) => m.trim());
  for (const m of modes) if (m !== 'direct' && m !== 'gateway') problems.push(`modes: unknown mode "${m}"`);
  if (new Set(modes).size !== modes.length || modes.length === 0) problems.push('modes: each mode once');
  const wsAuth = raw('ws-auth') ?? 'header';
  if (wsAuth !== 'header' && wsAuth !== 'ticket') problems.push(`ws-auth: header or ticket, not "${wsAuth}"`);
  const logLevel = raw('log-level') ?? 'info';
  if (!LEVELS.includes(logLevel)) problems.push(`log-level: one of ${LEVELS.join(', ')}`);
  const workers = int('workers');
  const options: ChatBenchOptions = {
    clients,
    channels,
    members,
    rate: int('rate'),
    seconds: int('seconds'),
    drainSeconds: int('drain-seconds'),
    readSeconds: int('read-seconds'),
    readConcurrency: int('read-concurrency'),
    modes: modes as Mode[],
    wsAuth: wsAuth as WsAuth,
    workers: workers === 0 ? Math.max(1, Math.ceil(clients / 2_500)) : Math.min(workers, clients),
    connectConcurrency: int('connect-concurrency'),
    setupConcurrency: int('setup-concurrency'),
    logLevel,
  };
  if (problems.length > 0) throw new Error(`chat bench options:\n  ${problems.join('\n  ')}\n\n${usage()}`);
  return options;
}

/** The command as typed, for the report: flags given and CHAT_BENCH_* variables in force. */
export function chatCommandLine(argv: readonly string[] = process.argv.slice(2)): string {
  const env = Object.entries(process.env)
    .filter(([k, v]) => k.startsWith('CHAT_BENCH_') && v !== '')
    .map(([k, v]) => `${k}=${v}`);
  return [...env, 'npm --prefix bench run chat', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
}
