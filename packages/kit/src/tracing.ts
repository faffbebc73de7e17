import { hostname } from 'node:os';
import {
  context,
  type DiagLogger,
  DiagLogLevel,
  diag,
  propagation,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import type { TelemetryConfig } from './telemetry-config.ts';

export interface Tracing {
  /** Spans are sampled, recorded and sent to the OTLP endpoint. */
  readonly exporting: boolean;
  readonly tracer: Tracer;
  /** The share of new traces to record (OTEL_TRACES_SAMPLER_ARG). */
  readonly sampleRatio: number;
  /** Sends what is buffered and stops (part of graceful shutdown). */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  readonly logger: Logger;
  readonly version?: string;
  /**
   * Makes this the process's tracer provider, W3C propagator and async context manager (the
   * services, whose handlers and queries find their span through the active context). The
   * gateway passes its tracer explicitly and registers nothing.
   */
  readonly register?: boolean;
  /**
   * The caller decides, before it starts a span, whether a new trace is recorded (the gateway:
   * an unsampled request then never reaches the SDK); a span started without a parent is always
   * recorded. Spans with a parent still follow the parent's decision.
   */
  readonly callerSamplesNewTraces?: boolean;
}

/**
 * OpenTelemetry for one process. With an OTLP endpoint: parent-based ratio
 * sampling (a caller's decision is kept, new traces are sampled at the
 * configured ratio) and batched OTLP/HTTP export. Without one nothing is
 * recorded or sent, but trace context still flows, so log lines carry the
 * trace id of the request they belong to.
 */
export async function startTracing(config: TelemetryConfig, options: TracingOptions): Promise<Tracing> {
  const { endpoint, headers, sampleRatio } = config.traces;
  const exporting = endpoint !== undefined;
  // The exporter is loaded only when there is somewhere to export to.
  const exporter = exporting
    ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({
        url: endpoint,
        headers: { ...headers },
        timeoutMillis: 5_000,
      })
    : undefined;
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': config.service,
      'service.namespace': 'gatehouse',
      'service.version': options.version ?? '0.1.0',
      'service.instance.id': `${hostname()}:${process.pid}`,
      'deployment.environment.name': config.environment,
    }),
    sampler: exporting
      ? new ParentBasedSampler({
          root:
            options.callerSamplesNewTraces === true
              ? new AlwaysOnSampler()
              : new TraceIdRatioBasedSampler(sampleRatio),
        })
      : new AlwaysOffSampler(),
    spanProcessors:
      exporter !== undefined
        ? [
            new BatchSpanProcessor({
              exporter,
              // A full queue drops spans rather than holding memory: tracing never takes a process down.
              maxQueueSize: 4_096,
              maxExportBatchSize: 512,
              scheduledDelayMillis: 1_000,
            }),
          ]
        : [],
  });
  if (options.register === true) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  }
  if (exporting) diag.setLogger(diagToPino(options.logger), DiagLogLevel.WARN);
  if (exporting) {
    options.logger.info({ endpoint, sampleRatio }, 'tracing: exporting spans over OTLP/HTTP');
  }
  return {
    exporting,
    tracer: provider.getTracer('gatehouse', options.version ?? '0.1.0'),
    sampleRatio,
    async shutdown() {
      // What cannot be sent in a few seconds is dropped: a lost collector never holds up shutdown.
      const flushed = provider.shutdown().catch((err: unknown) => {
        options.logger.warn(
          { event: 'tracing_export', err: (err as Error).message },
          'tracing: spans dropped at shutdown',
        );
      });
      await Promise.race([flushed, new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
      if (options.register === true) {
        trace.disable();
        propagation.disable();
        context.disable();
      }
    },
  };
}

/** The exporter's complaints (a collector that cannot be reached) as warn lines, one per minute at most. */
function diagToPino(logger: Logger): DiagLogger {
  let last = 0;
  const warn = (message: string, ...args: unknown[]) => {
    const now = Date.now();
    if (now - last < 60_000) return;
    last = now;
    logger.warn({ event: 'tracing_export', detail: args.map(String).join(' ').slice(0, 500) }, message);
  };
  const quiet = () => {};
  return { error: warn, warn, info: quiet, debug: quiet, verbose: quiet };
}
