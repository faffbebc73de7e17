import { type DestinationStream, type Logger, pino } from 'pino';
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
 * The one logger of a process: pino JSON lines on stdout. Lines are written in
 * batches of up to 4 KiB and at least every half second (one write per line
 * was a tenth of a busy gateway's CPU); the shutdown handler flushes the rest.
 */
export function createLogger(options: LoggerOptions): Logger {
  if (options.destination !== undefined) return build(options, options.destination);
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = build(options, destination);
  setInterval(() => logger.flush(), 500).unref();
  return logger;
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
