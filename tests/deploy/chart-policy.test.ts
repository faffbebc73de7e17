import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { type K8sObject, NO_HELM, PRODUCTION_VALUES, render } from './helm.ts';
import {
  disruptionBudgets,
  drainFits,
  hardened,
  isolation,
  probesSet,
  resourcesSet,
  secretsReferenced,
  spread,
  workloads,
} from './policy.ts';

/**
 * Our rules for what the chart renders (policy.ts), for the default and the production-like
 * values; then each rule run on a manifest broken on purpose, so a rule that cannot fail
 * would show here.
 */

const skip = NO_HELM;
const VALUE_SETS = { default: [] as string[], production: [PRODUCTION_VALUES] };
/** The services' shutdown deadline: kit's installGracefulShutdown default (30 s). */
const SERVICE_DEADLINE_SECONDS = 30;

function deadlineOf(objects: K8sObject[]) {
  const config = objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === 'gatehouse-gateway-config',
  );
  const gatewayMs = parse(config?.data?.['gateway.yaml'] ?? '').limits.shutdownDeadlineMs as number;
  return (d: K8sObject) =>
    d.metadata.labels?.['app.kubernetes.io/component'] === 'gateway'
      ? gatewayMs / 1000
      : SERVICE_DEADLINE_SECONDS;
}

/** The service-to-service calls the chart's values allow (services.<callee>.allowFrom): chat reports usage to billing. */
const CALLERS: Readonly<Record<string, readonly string[]>> = { billing: ['chat'] };
const declaredCallers = (service: string) => CALLERS[service] ?? [];

const clone = (objects: K8sObject[]) => structuredClone(objects) as K8sObject[];
const deployment = (objects: K8sObject[], name: string) =>
  objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `gatehouse-${name}`) as K8sObject;

describe('policy: what the chart renders', () => {
  for (const [set, files] of Object.entries(VALUE_SETS)) {
    describe(`${set} values`, () => {
      const objects = skip === false ? render(files) : [];
      it('every container has CPU and memory requests and a memory limit', { skip }, () =>
        assert.deepEqual(resourcesSet(objects), []),
      );
      it('every Deployment probes /ready for readiness and /live for liveness', { skip }, () =>
        assert.deepEqual(probesSet(objects), []),
      );
      it(
        'every pod runs as non-root, read-only, without privileges, capabilities or API token',
        { skip },
        () => assert.deepEqual(hardened(objects), []),
      );
      it('every Deployment has a PodDisruptionBudget', { skip }, () =>
        assert.deepEqual(disruptionBudgets(objects), []),
      );
      it('every Deployment spreads over zones and nodes', { skip }, () =>
        assert.deepEqual(spread(objects), []),
      );
      it('every grace period covers the preStop sleep and the shutdown deadline', { skip }, () =>
        assert.deepEqual(drainFits(objects, deadlineOf(objects)), []),
      );
      it('NetworkPolicies: default deny, only the gateway reaches services, only owners reach databases', {
        skip,
      }, () => {
        assert.ok(objects.filter((o) => o.kind === 'NetworkPolicy').length >= 6);
        assert.deepEqual(isolation(objects, declaredCallers), []);
      });
      it('Secrets are referenced, never inlined', { skip }, () =>
        assert.deepEqual(secretsReferenced(objects), []),
      );
      it('every HPA scales a Deployment of the chart, on CPU at least', { skip }, () => {
        for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
          assert.ok(deployment(objects, hpa.spec.scaleTargetRef.name.replace(/^gatehouse-/, '')));
          assert.ok(
            hpa.spec.metrics.some((m: { resource?: { name: string } }) => m.resource?.name === 'cpu'),
          );
          assert.ok(hpa.spec.minReplicas >= 2, `${hpa.metadata.name}: fewer than 2 replicas`);
          const target = deployment(objects, hpa.spec.scaleTargetRef.name.replace(/^gatehouse-/, ''));
          assert.equal(target.spec.replicas, undefined, 'replicas set on a Deployment an HPA scales');
        }
      });
      it('every service with a database has its migration Job, run as a hook before install and upgrade', {
        skip,
      }, () => {
        for (const name of ['auth', 'chat', 'billing']) {
          const job = objects.find(
            (o) => o.kind === 'Job' && o.metadata.name === `gatehouse-${name}-migrate`,
          );
          assert.ok(job, `no migration Job for ${name}`);
          assert.equal(job.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
          const env = job.spec.template.spec.containers[0].env as { name: string; valueFrom?: unknown }[];
          assert.ok(env.some((e) => e.name === 'DATABASE_URL' && e.valueFrom !== undefined));
        }
        assert.ok(!objects.some((o) => o.metadata.name === 'gatehouse-web-migrate'), 'web has no database');
      });
    });
  }
});

describe('policy rules fail on what they guard against', () => {
  const base = skip === false ? render() : [];
  const gatewayPod = (objects: K8sObject[]) => deployment(objects, 'gateway').spec.template.spec;
  const authPod = (objects: K8sObject[]) => deployment(objects, 'auth').spec.template.spec;

  it('a container without resources', { skip }, () => {
    const objects = clone(base);
    delete gatewayPod(objects).containers[0].resources;
    assert.match(resourcesSet(objects).join(), /gatehouse-gateway gateway: no CPU request/);
  });
  it('a liveness probe on /ready, a readiness probe misspelt', { skip }, () => {
    const objects = clone(base);
    const c = authPod(objects).containers[0];
    c.livenessProbe.httpGet.path = '/ready';
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
    const problems = probesSet(objects).join();
    assert.match(problems, /livenessProbe is not GET \/live/);
    assert.match(problems, /readinessProbe is not GET \/ready/);
  });
  it('root, a writable root filesystem, a mounted token, a :latest image', { skip }, () => {
    const objects = clone(base);
    const pod = authPod(objects);
    pod.securityContext.runAsNonRoot = false;
    pod.automountServiceAccountToken = true;
    pod.containers[0].securityContext.readOnlyRootFilesystem = false;
    pod.containers[0].image = 'ghcr.io/gatehouse/gatehouse-auth:latest';
    const problems = hardened(objects).join('\n');
    for (const expected of [
      /runAsNonRoot/,
      /service account token/,
      /root filesystem is writable/,
      /not pinned/,
    ]) {
      assert.match(problems, expected);
    }
  });
  it('a Deployment without a PodDisruptionBudget', { skip }, () => {
    const objects = clone(base).filter(
      (o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'gatehouse-chat'),
    );
    assert.deepEqual(disruptionBudgets(objects), [
      'Deployment/gatehouse-chat: no PodDisruptionBudget selects its pods',
    ]);
  });
  it('a grace period shorter than the drain', { skip }, () => {
    const objects = clone(base);
    gatewayPod(objects).terminationGracePeriodSeconds = 30;
    assert.match(
      drainFits(objects, deadlineOf(objects)).join(),
      /gatehouse-gateway: terminationGracePeriodSeconds 30/,
    );
  });
  it('no default deny, a service open to every pod, the gateway given the database port', { skip }, () => {
    const noDeny = clone(base).filter((o) => o.metadata.name !== 'gatehouse-default-deny');
    assert.match(isolation(noDeny).join(), /no default-deny NetworkPolicy/);
    const open = clone(base);
    const chatPolicy = open.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'gatehouse-chat',
    ) as K8sObject;
    chatPolicy.spec.ingress[0].from = [{ podSelector: {} }];
    assert.match(isolation(open).join(), /chat reachable from/);
    const leaky = clone(base);
    const gwPolicy = leaky.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'gatehouse-gateway',
    ) as K8sObject;
    gwPolicy.spec.egress.push({
      to: [{ ipBlock: { cidr: '10.0.0.0/8' } }],
      ports: [{ protocol: 'TCP', port: 5432 }],
    });
    assert.match(isolation(leaky).join(), /gatehouse-gateway: reaches the database port/);
  });
  it('a service-to-service call opens only where values.services.<name>.allowFrom says', { skip }, () => {
    const objects = render([], ['services.auth.allowFrom={billing}']);
    assert.match(isolation(objects).join(), /auth reachable from/);
    assert.deepEqual(
      isolation(objects, (service) => (service === 'auth' ? ['billing'] : declaredCallers(service))),
      [],
    );
    const billing = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'gatehouse-billing',
    ) as K8sObject;
    const toAuth = billing.spec.egress.some(
      (rule: { to?: { podSelector?: { matchLabels?: Record<string, string> } }[] }) =>
        rule.to?.[0]?.podSelector?.matchLabels?.['app.kubernetes.io/component'] === 'auth',
    );
    assert.ok(toAuth, 'billing has no egress to auth');
  });
  it('a secret written into the manifest', { skip }, () => {
    const objects = clone(base);
    authPod(objects).containers[0].env.push({ name: 'AUTH_SIGNING_KEYS', value: '[{"jwk":{}}]' });
    objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'oops' } });
    const problems = secretsReferenced(objects).join();
    assert.match(problems, /AUTH_SIGNING_KEYS is not read from a Secret/);
    assert.match(problems, /Secret\/oops/);
  });
  it('finds the workloads it checks', { skip }, () => {
    assert.equal(workloads(base).filter((w) => w.object.kind === 'Deployment').length, 5);
  });
});
