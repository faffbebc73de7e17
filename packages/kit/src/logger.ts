import { type DestinationStream, type Logger, pino } from 'pino';
import { LineWriter } from './line-writer.ts';
import { activeTraceFields } from './trace-context.ts';

export type { Logger } from 'pino';

const NO_TRACE = Object.freeze({});

/**
 * Keys that never reach a log line: credentials in headers and bodies. Paths
 * are pino redaction paths; `*` matches one level.
 */
export const REDACT_PATHS = [
  'authorization',
  'cookie',
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  '*.authorization',
  '*.cookie',
  '*["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-gateway-assertion"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-gateway-assertion"]',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  readonly service: string;
  readonly level?: LogLevel;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  readonly destination?: DestinationStream;
}

/**
 * The one logger of a process: pino JSON lines on stdout, through a
 * `LineWriter` (lines gathered and written in large writes off the event
 * loop, memory bounded, see line-writer.ts); what is pending is written at
 * exit, and the shutdown handler flushes it before.
 */
export function createLogger(options: LoggerOptions): Logger {
  if (options.destination !== undefined) return build(options, options.destination);
  const writer = new LineWriter({ fd: 1 });
  process.once('exit', () => writer.flushSync());
  return build(options, writer);
}

/**
 * Where a logger's lines go, for a writer of pre-serialised lines (the
 * gateway's access log): `keep` marks a line worth keeping when the output
 * falls behind (see LineWriter); a plain stream (a test's) takes every line.
 */
export function lineSink(logger: Logger): (line: string, keep: boolean) => void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | LineWriter
    | DestinationStream;
  if (stream instanceof LineWriter) return (line, keep) => stream.writeLine(line, keep);
  return (line) => {
    stream.write(line);
  };
}

/**
 * A logger's bindings exactly as pino writes them into each line
 * (`,"service":"gateway","pid":123` and any child's), for a writer of
 * pre-serialised lines that must match pino's.
 */
export function lineBindings(logger: Logger): string {
  return ((logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym] as string) ?? '';
}

/** The LineWriter behind a logger, when it has one (its dropped-line count is a metric). */
export function lineWriterOf(logger: Logger): LineWriter | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return stream instanceof LineWriter ? stream : undefined;
}

function build(options: LoggerOptions, destination: DestinationStream): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      // A line written while a request's span is active (a service's handler or query) names its
      // trace; the gateway, which keeps no active context, adds traceId to its request lines itself.
      mixin: () => activeTraceFields() ?? NO_TRACE,
      // The line's own fields win; a line outside any span is left as it is (no copy).
      mixinMergeStrategy: (line, trace) => (trace === NO_TRACE ? line : Object.assign(trace, line)),
    },
    destination,
  );
}
