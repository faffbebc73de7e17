import { z } from 'zod';
import { type Env, parseConfig } from './config.ts';

/**
 * Tracing and error tracking, configured the same way in every process by the
 * standard variables (OpenTelemetry's and Sentry's own names), parsed once at
 * start. Nothing is exported unless an endpoint or DSN is set.
 */
export interface TelemetryConfig {
  readonly service: string;
  readonly environment: string;
  readonly traces: {
    /** OTLP/HTTP traces endpoint (…/v1/traces); undefined: no spans are recorded or sent. */
    readonly endpoint: string | undefined;
    /** Extra headers for the OTLP exporter (OTEL_EXPORTER_OTLP_HEADERS, `k=v,k2=v2`). */
    readonly headers: Readonly<Record<string, string>>;
    /** Parent-based ratio sampling: the share of new traces recorded (a caller's decision is kept). */
    readonly sampleRatio: number;
  };
  readonly sentry: {
    /** undefined: no error tracking, and the Sentry SDK is never loaded. */
    readonly dsn: string | undefined;
    readonly environment: string;
    readonly release: string | undefined;
  };
}

const httpUrl = z
  .url({ protocol: /^https?$/ })
  .optional()
  .or(z.literal('').transform(() => undefined));

const telemetryEnvSchema = z.looseObject({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Base URL of an OTLP/HTTP collector; `/v1/traces` is appended (the OTel convention). */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl,
  /** The full traces URL, used as is; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl,
  OTEL_EXPORTER_OTLP_HEADERS: z
    .string()
    .regex(
      /^\s*([^=,\s]+\s*=[^,]*)(,\s*[^=,\s]+\s*=[^,]*)*\s*$/,
      'must be key=value pairs separated by commas',
    )
    .optional(),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional(),
  /** Share of new traces sampled, 0 to 1. Default: 1 in development and test, 0.1 in production. */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  SENTRY_DSN: httpUrl,
  SENTRY_ENVIRONMENT: z.string().min(1).max(64).optional(),
  SENTRY_RELEASE: z.string().min(1).max(200).optional(),
});

function parseHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (value === undefined) return headers;
  for (const pair of value.split(',')) {
    const at = pair.indexOf('=');
    if (at > 0)
      headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/** Reads the telemetry variables; a bad value throws a ConfigError naming the variable. */
export function loadTelemetryConfig(env: Env, service: string): TelemetryConfig {
  const parsed = parseConfig(telemetryEnvSchema, env, 'environment');
  const disabled = parsed.OTEL_SDK_DISABLED === 'true';
  const base = parsed.OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint = disabled
    ? undefined
    : (parsed.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
      (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`));
  const environment = parsed.NODE_ENV;
  return {
    service,
    environment,
    traces: {
      endpoint,
      headers: parseHeaders(parsed.OTEL_EXPORTER_OTLP_HEADERS),
      sampleRatio: parsed.OTEL_TRACES_SAMPLER_ARG ?? (environment === 'production' ? 0.1 : 1),
    },
    sentry: {
      dsn: parsed.SENTRY_DSN,
      environment: parsed.SENTRY_ENVIRONMENT ?? environment,
      release: parsed.SENTRY_RELEASE,
    },
  };
}
