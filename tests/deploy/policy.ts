import type { K8sObject } from './helm.ts';

/**
 * Our own rules for the rendered chart, each a function from the manifests to the list of
 * what breaks it (empty: the rule holds). Tests run them on the chart's output and on
 * manifests broken on purpose, so each rule is seen to fail.
 */

// biome-ignore lint/suspicious/noExplicitAny: pod specs are read field by field.
type Any = any;

export interface Workload {
  readonly object: K8sObject;
  readonly pod: Any;
}

/** Deployments and Jobs with their pod spec. */
export function workloads(objects: readonly K8sObject[]): Workload[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .map((object) => ({ object, pod: object.spec?.template?.spec ?? {} }));
}

const name = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Every container asks for CPU and memory and has a memory limit. */
export function resourcesSet(objects: readonly K8sObject[]): string[] {
  const out: string[] = [];
  for (const { object, pod } of workloads(objects)) {
    for (const c of pod.containers ?? []) {
      const r = c.resources ?? {};
      if (r.requests?.cpu === undefined) out.push(`${name(object)} ${c.name}: no CPU request`);
      if (r.requests?.memory === undefined) out.push(`${name(object)} ${c.name}: no memory request`);
      if (r.limits?.memory === undefined) out.push(`${name(object)} ${c.name}: no memory limit`);
    }
  }
  return out;
}

/** Every Deployment's containers: readiness on /ready, liveness on /live, on a declared port. */
export function probesSet(objects: readonly K8sObject[]): string[] {
  const out: string[] = [];
  for (const { object, pod } of workloads(objects)) {
    if (object.kind !== 'Deployment') continue;
    for (const c of pod.containers ?? []) {
      const ports = new Set((c.ports ?? []).flatMap((p: Any) => [p.name, p.containerPort]));
      for (const [probe, path] of [
        ['readinessProbe', '/ready'],
        ['livenessProbe', '/live'],
      ] as const) {
        const get = c[probe]?.httpGet;
        if (get?.path !== path) out.push(`${name(object)} ${c.name}: ${probe} is not GET ${path}`);
        else if (!ports.has(get.port))
          out.push(`${name(object)} ${c.name}: ${probe} port ${get.port} not declared`);
      }
    }
  }
  return out;
}

/** Non-root, no privilege escalation, read-only root, no capabilities, no API token. */
export function hardened(objects: readonly K8sObject[]): string[] {
  const out: string[] = [];
  for (const { object, pod } of workloads(objects)) {
    const podCtx = pod.securityContext ?? {};
    if (pod.automountServiceAccountToken !== false)
      out.push(`${name(object)}: mounts a service account token`);
    if (pod.hostNetwork === true || pod.hostPID === true || pod.hostIPC === true)
      out.push(`${name(object)}: shares a host namespace`);
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      const ctx = { ...podCtx, ...(c.securityContext ?? {}) };
      const where = `${name(object)} ${c.name}`;
      if (ctx.runAsNonRoot !== true) out.push(`${where}: runAsNonRoot is not true`);
      if (ctx.runAsUser === 0) out.push(`${where}: runs as uid 0`);
      if (ctx.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
      if (ctx.readOnlyRootFilesystem !== true) out.push(`${where}: root filesystem is writable`);
      if (ctx.privileged === true) out.push(`${where}: privileged`);
      if (!(ctx.capabilities?.drop ?? []).includes('ALL')) out.push(`${where}: capabilities not dropped`);
      if (ctx.seccompProfile?.type !== 'RuntimeDefault')
        out.push(`${where}: no RuntimeDefault seccomp profile`);
      if (/:latest$/.test(c.image) || !/[:@]/.test(c.image))
        out.push(`${where}: image ${c.image} is not pinned`);
    }
  }
  for (const sa of objects.filter((o) => o.kind === 'ServiceAccount')) {
    if (sa.automountServiceAccountToken !== false)
      out.push(`${name(sa)}: automountServiceAccountToken is not false`);
  }
  return out;
}

/** Every Deployment has a PodDisruptionBudget that selects its pods. */
export function disruptionBudgets(objects: readonly K8sObject[]): string[] {
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  return objects
    .filter((o) => o.kind === 'Deployment')
    .filter(
      (d) => !pdbs.some((p) => matches(p.spec?.selector?.matchLabels, d.spec?.template?.metadata?.labels)),
    )
    .map((d) => `${name(d)}: no PodDisruptionBudget selects its pods`);
}

/** Every Deployment spreads over zones and nodes. */
export function spread(objects: readonly K8sObject[]): string[] {
  const out: string[] = [];
  for (const { object, pod } of workloads(objects)) {
    if (object.kind !== 'Deployment') continue;
    const keys = (pod.topologySpreadConstraints ?? []).map((t: Any) => t.topologyKey);
    for (const key of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
      if (!keys.includes(key)) out.push(`${name(object)}: not spread over ${key}`);
    }
  }
  return out;
}

/**
 * terminationGracePeriodSeconds covers the preStop sleep and the process's shutdown deadline
 * (`deadlineSeconds` of each Deployment, by name), so Kubernetes never kills a pod mid-drain.
 */
export function drainFits(
  objects: readonly K8sObject[],
  deadlineSeconds: (d: K8sObject) => number,
): string[] {
  const out: string[] = [];
  for (const { object, pod } of workloads(objects)) {
    if (object.kind !== 'Deployment') continue;
    for (const c of pod.containers ?? []) {
      const sleep = c.lifecycle?.preStop?.sleep?.seconds;
      if (typeof sleep !== 'number' || sleep < 1) {
        out.push(`${name(object)} ${c.name}: no preStop sleep`);
        continue;
      }
      const needed = sleep + deadlineSeconds(object);
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      if (grace <= needed) {
        out.push(`${name(object)}: terminationGracePeriodSeconds ${grace} ≤ preStop ${sleep} s + deadline`);
      }
    }
  }
  return out;
}

interface Policy {
  readonly object: K8sObject;
  readonly types: string[];
  readonly selector: Record<string, string>;
  readonly ingress: Any[];
  readonly egress: Any[];
}

function networkPolicies(objects: readonly K8sObject[]): Policy[] {
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .map((object) => ({
      object,
      types: object.spec?.policyTypes ?? [],
      selector: object.spec?.podSelector?.matchLabels ?? {},
      ingress: object.spec?.ingress ?? [],
      egress: object.spec?.egress ?? [],
    }));
}

const applies = (p: Policy, labels: Record<string, string>) =>
  Object.entries(p.selector).every(([k, v]) => labels[k] === v);

function podLabels(objects: readonly K8sObject[]) {
  return workloads(objects).map(({ object }) => ({
    object,
    labels: (object.spec?.template?.metadata?.labels ?? {}) as Record<string, string>,
    component: object.spec?.template?.metadata?.labels?.['app.kubernetes.io/component'] as string,
  }));
}

/**
 * Network isolation: every pod is under a default deny of both directions; a service's port
 * opens to the gateway's pods (and to monitoring) and to nothing else of the cluster; only
 * pods that own a database get egress to the database port.
 */
export function isolation(
  objects: readonly K8sObject[],
  allowedCallers: (service: string) => readonly string[] = () => [],
  databasePort = 5432,
): string[] {
  const out: string[] = [];
  const policies = networkPolicies(objects);
  const pods = podLabels(objects);
  const gatewayPod = pods.find((p) => p.component === 'gateway');
  for (const pod of pods) {
    const mine = policies.filter((p) => applies(p, pod.labels));
    const denyAll = mine.some(
      (p) =>
        p.types.includes('Ingress') &&
        p.types.includes('Egress') &&
        p.ingress.length === 0 &&
        p.egress.length === 0,
    );
    if (!denyAll) out.push(`${name(pod.object)}: no default-deny NetworkPolicy selects its pods`);
    const dbEgress = mine.some((p) =>
      p.egress.some((rule) => (rule.ports ?? []).some((port: Any) => port.port === databasePort)),
    );
    const ownsDatabase = pod.labels['gatehouse.dev/database'] !== undefined;
    if (dbEgress && !ownsDatabase)
      out.push(`${name(pod.object)}: reaches the database port without owning a database`);
    if (pod.object.kind !== 'Deployment' || pod.component === 'gateway') continue;
    for (const p of mine) {
      for (const rule of p.ingress) {
        const from: Any[] = rule.from ?? [];
        if (from.length === 0) out.push(`${name(p.object)}: ${pod.component} open to every source`);
        for (const peer of from) {
          const fromGateway =
            peer.namespaceSelector === undefined &&
            matches(peer.podSelector?.matchLabels, gatewayPod?.labels);
          const caller = pods.find(
            (other) =>
              other.object.kind === 'Deployment' && matches(peer.podSelector?.matchLabels, other.labels),
          );
          const fromAllowedCaller =
            peer.namespaceSelector === undefined &&
            caller !== undefined &&
            allowedCallers(pod.component).includes(caller.component);
          const fromMonitoring = peer.namespaceSelector !== undefined && peer.podSelector === undefined;
          if (!fromGateway && !fromMonitoring && !fromAllowedCaller)
            out.push(`${name(p.object)}: ${pod.component} reachable from ${JSON.stringify(peer)}`);
        }
      }
    }
  }
  return out;
}

/** No Secret objects, and every variable that looks secret comes from a secretKeyRef. */
export function secretsReferenced(objects: readonly K8sObject[]): string[] {
  const out: string[] = [];
  for (const o of objects.filter((x) => x.kind === 'Secret'))
    out.push(`${name(o)}: the chart must not hold secrets`);
  for (const { object, pod } of workloads(objects)) {
    for (const c of pod.containers ?? []) {
      for (const env of c.env ?? []) {
        const secretLike = /SECRET|PASSWORD|TOKEN|KEYS?$|DATABASE_URL|REDIS_URL|SMTP_URL|DSN/.test(env.name);
        if (secretLike && env.valueFrom?.secretKeyRef === undefined)
          out.push(`${name(object)} ${c.name}: ${env.name} is not read from a Secret`);
      }
    }
  }
  return out;
}
