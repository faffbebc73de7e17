import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadGatewayConfig } from '../../packages/gateway/src/config/load.ts';
import {
  CHART,
  HELM_VERSION,
  helm,
  helmBinary,
  type K8sObject,
  NO_HELM,
  PRODUCTION_VALUES,
  ROOT,
  render,
} from './helm.ts';
import { schemaErrors } from './k8s-schema.ts';

/**
 * The Helm chart, checked without a cluster: rendered with `helm template` for the default
 * values and the production-like ones, every object validated against the Kubernetes (and
 * Prometheus Operator) schemas, `helm lint`, and what the chart promises about the gateway's
 * config. The policy rules are in chart-policy.test.ts.
 */

const VALUE_SETS = { default: [] as string[], production: [PRODUCTION_VALUES] };
const skip = NO_HELM;

describe('helm chart deploy/helm/gatehouse', () => {
  it(`runs the pinned helm (${HELM_VERSION}, checksum verified)`, { skip }, () => {
    helmBinary();
    const result = helm(['version', '--short']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^${HELM_VERSION.replace(/\./g, '\\.')}\\+`));
  });

  it('passes helm lint --strict with both value sets', { skip }, () => {
    for (const [set, files] of Object.entries(VALUE_SETS)) {
      const args = ['lint', '--strict', CHART, ...files.flatMap((f) => ['--values', f])];
      const result = helm(args);
      assert.equal(result.status, 0, `${set}: ${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  for (const [set, files] of Object.entries(VALUE_SETS)) {
    it(`renders with the ${set} values, every object valid against the Kubernetes schemas`, {
      skip,
    }, async () => {
      const objects = render(files);
      assert.ok(objects.length >= 30, `only ${objects.length} objects`);
      const errors = (await Promise.all(objects.map(schemaErrors))).flat();
      assert.deepEqual(errors, []);
      const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      assert.equal(new Set(names).size, names.length, 'two objects of one kind share a name');
    });
  }

  it('has the objects of every service, data-driven from values.services', { skip }, () => {
    const objects = render();
    for (const service of ['gateway', 'auth', 'chat', 'billing', 'web']) {
      for (const kind of [
        'Deployment',
        'Service',
        'ServiceAccount',
        'PodDisruptionBudget',
        'HorizontalPodAutoscaler',
        'NetworkPolicy',
      ]) {
        assert.ok(
          objects.some((o) => o.kind === kind && o.metadata.name === `gatehouse-${service}`),
          `${kind}/gatehouse-${service} is missing`,
        );
      }
    }
    const jobs = objects
      .filter((o) => o.kind === 'Job')
      .map((o) => o.metadata.name)
      .sort();
    assert.deepEqual(jobs, ['gatehouse-auth-migrate', 'gatehouse-billing-migrate', 'gatehouse-chat-migrate']);
    // A new service is one values entry; a disabled one leaves nothing behind, upstream included.
    const withVenues = render(
      [],
      [
        'services.venues.enabled=true',
        'services.venues.kind=service',
        'services.venues.port=4010',
        'services.venues.database=false',
        'services.venues.redis=false',
        'services.venues.replicas=1',
        'services.venues.resources.requests.cpu=50m',
        'services.venues.resources.requests.memory=64Mi',
        'services.venues.resources.limits.memory=128Mi',
        'services.venues.autoscaling.enabled=false',
        'services.venues.pdb.maxUnavailable=1',
        'services.web.enabled=false',
      ],
    );
    assert.ok(withVenues.some((o) => o.kind === 'Deployment' && o.metadata.name === 'gatehouse-venues'));
    assert.ok(!withVenues.some((o) => o.metadata.name === 'gatehouse-web'));
    const config = parse(configMap(withVenues).data?.['gateway.yaml'] ?? '');
    assert.equal(config.upstreams.venues.url, 'http://gatehouse-venues:4010');
    assert.equal(config.upstreams.web, undefined);
    assert.ok(
      !config.routes.some((r: { upstream: string }) => r.upstream === 'web'),
      'a route to a disabled service',
    );
  });

  for (const [set, files] of Object.entries(VALUE_SETS)) {
    it(`renders a gateway config that the gateway itself accepts in production (${set} values)`, {
      skip,
    }, () => {
      const text = configMap(render(files)).data?.['gateway.yaml'] ?? '';
      const env = {
        NODE_ENV: 'production',
        GATEWAY_ASSERTION_SECRET: `${'x'.repeat(16)}Yq3!vT9#pL2@wZ6$`,
        REDIS_URL: 'redis://redis.example:6379',
      };
      const loaded = loadGatewayConfig(parse(text), env, `${set} gateway.yaml`);
      assert.equal(loaded.config.listen.host, '0.0.0.0');
      assert.equal(loaded.config.rateLimits.redisUrl, env.REDIS_URL);
      assert.equal(loaded.config.identity?.redisUrl, env.REDIS_URL);
      assert.match(loaded.config.auth.jwksUrl ?? '', /^http:\/\/gatehouse-auth:4001\//);
    });
  }

  it('routes exactly as config/gateway.yaml does', () => {
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
    const shipped = parse(readFileSync(join(ROOT, 'config/gateway.yaml'), 'utf8'));
    assert.deepEqual(values.gatewayConfig.routes, shipped.routes);
    assert.deepEqual(
      Object.keys(values.gatewayConfig.upstreams).sort(),
      Object.keys(shipped.upstreams).sort(),
    );
  });

  it('rolls the gateway pods when its config changes, and only then', { skip }, () => {
    const checksum = (objects: K8sObject[]) =>
      gatewayDeployment(objects).spec.template.metadata.annotations['checksum/config'] as string;
    const base = checksum(render());
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.equal(checksum(render()), base);
    assert.notEqual(checksum(render([], ['gatewayConfig.rateLimits.tiers.free.limit=700'])), base);
    assert.equal(checksum(render([], ['services.auth.replicas=5'])), base);
  });

  it('matches the gateway shutdown deadline in its config to the grace period', { skip }, () => {
    for (const files of Object.values(VALUE_SETS)) {
      const objects = render(files);
      const config = parse(configMap(objects).data?.['gateway.yaml'] ?? '');
      const deadlineMs = config.limits.shutdownDeadlineMs;
      // WebSocket tunnels get their drain inside the process's own deadline.
      assert.ok(config.websockets.drainDeadlineMs < deadlineMs);
      const pod = gatewayDeployment(objects).spec.template.spec;
      const sleep = pod.containers[0].lifecycle.preStop.sleep.seconds;
      assert.ok(pod.terminationGracePeriodSeconds > sleep + deadlineMs / 1000);
    }
  });

  it('turns deploy/prometheus/alerts.yml into the PrometheusRule, unchanged', { skip }, () => {
    const rule = render([PRODUCTION_VALUES]).find((o) => o.kind === 'PrometheusRule');
    assert.ok(rule);
    const alerts = parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8'));
    assert.deepEqual(rule.spec.groups, alerts.groups);
    const dashboard = render([PRODUCTION_VALUES]).find((o) => o.metadata.name === 'gatehouse-dashboard');
    assert.deepEqual(
      JSON.parse(dashboard?.data?.['gatehouse.json'] ?? '{}'),
      JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/gatehouse.json'), 'utf8')),
    );
  });

  it('refuses a Kubernetes object that breaks the schema (the validator can fail)', async () => {
    const broken: K8sObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'broken' },
      spec: {
        selector: {},
        template: { spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'http' }] }] } },
      },
    };
    assert.match((await schemaErrors(broken)).join(), /containerPort must be integer/);
    const unknownKind = { ...broken, apiVersion: 'apps/v9' };
    assert.match((await schemaErrors(unknownKind)).join(), /no schema for apps\/v9 Deployment/);
    const noSpec = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { ports: [{ port: 'x' }] },
    };
    assert.match((await schemaErrors(noSpec)).join(), /port must be integer/);
  });

  it('refuses values that break values.schema.json, naming the field', { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-chart-'));
    try {
      const cases: [string, RegExp][] = [
        ['services:\n  gateway:\n    pdb: null\n', /services\.gateway: pdb is required/],
        ['services:\n  auth:\n    migrate: null\n', /services\.auth: migrate is required/],
        [
          'services:\n  venues: { enabled: true, kind: service, port: 4010, replicas: 1, database: false, redis: false, autoscaling: { enabled: false }, pdb: { maxUnavailable: 1 } }\n',
          /services\.venues: resources is required/,
        ],
        ['drain:\n  preStopSleepSeconds: 0\n', /drain\.preStopSleepSeconds/],
        ['postgres:\n  egress: [{ cidr: anywhere, port: 5432 }]\n', /postgres\.egress\.0\.cidr/],
      ];
      for (const [values, expected] of cases) {
        const file = join(dir, 'values.yaml');
        writeFileSync(file, values);
        assert.throws(() => render([file]), expected, values);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function configMap(objects: K8sObject[]): K8sObject {
  const found = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'gatehouse-gateway-config');
  assert.ok(found, 'no gateway ConfigMap');
  return found;
}

function gatewayDeployment(objects: K8sObject[]): K8sObject {
  const found = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gatehouse-gateway');
  assert.ok(found, 'no gateway Deployment');
  return found;
}
