import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from './config.ts';
import { loadTelemetryConfig } from './telemetry-config.ts';

describe('loadTelemetryConfig', () => {
  it('exports nothing without an endpoint or a DSN, and samples every trace in development', () => {
    const config = loadTelemetryConfig({}, 'svc');
    assert.equal(config.traces.endpoint, undefined);
    assert.equal(config.sentry.dsn, undefined);
    assert.equal(config.traces.sampleRatio, 1);
    assert.equal(config.environment, 'development');
    assert.equal(config.service, 'svc');
  });

  it('samples a tenth of new traces in production unless told otherwise', () => {
    assert.equal(loadTelemetryConfig({ NODE_ENV: 'production' }, 's').traces.sampleRatio, 0.1);
    const set = loadTelemetryConfig({ NODE_ENV: 'production', OTEL_TRACES_SAMPLER_ARG: '0.25' }, 's');
    assert.equal(set.traces.sampleRatio, 0.25);
  });

  it('appends /v1/traces to the base endpoint; the traces endpoint is used as is and wins', () => {
    const base = loadTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, 's');
    assert.equal(base.traces.endpoint, 'http://collector:4318/v1/traces');
    const both = loadTelemetryConfig(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
      },
      's',
    );
    assert.equal(both.traces.endpoint, 'https://traces.example/otlp');
  });

  it('turns export off with OTEL_SDK_DISABLED and reads headers as k=v pairs', () => {
    const off = loadTelemetryConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' },
      's',
    );
    assert.equal(off.traces.endpoint, undefined);
    const headers = loadTelemetryConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%3D, x-team = core' }, 's');
    assert.deepEqual(headers.traces.headers, { 'api-key': 'abc=', 'x-team': 'core' });
  });

  it('reads the Sentry variables', () => {
    const config = loadTelemetryConfig(
      { SENTRY_DSN: 'https://key@o1.ingest.example/42', SENTRY_RELEASE: 'gatehouse@1.2.3', NODE_ENV: 'test' },
      's',
    );
    assert.deepEqual(config.sentry, {
      dsn: 'https://key@o1.ingest.example/42',
      environment: 'test',
      release: 'gatehouse@1.2.3',
    });
  });

  it('refuses bad values, naming every variable at once', () => {
    assert.throws(
      () =>
        loadTelemetryConfig(
          {
            OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
            OTEL_TRACES_SAMPLER_ARG: '1.5',
            OTEL_EXPORTER_OTLP_HEADERS: 'no pairs here',
            SENTRY_DSN: 'ftp://x@y/1',
          },
          's',
        ),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.issues.join('\n');
        for (const name of [
          'OTEL_EXPORTER_OTLP_ENDPOINT',
          'OTEL_TRACES_SAMPLER_ARG',
          'OTEL_EXPORTER_OTLP_HEADERS',
          'SENTRY_DSN',
        ]) {
          assert.match(text, new RegExp(name));
        }
        return true;
      },
    );
  });
});
