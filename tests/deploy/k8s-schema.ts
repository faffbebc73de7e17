import type { K8sObject } from './helm.ts';

/**
 * Validates Kubernetes objects against the API's OpenAPI schemas as the npm package
 * kubernetes-models ships them (compiled to ajv validators; Kubernetes 1.34's API), and the
 * Prometheus Operator's CRDs from @kubernetes-models/prometheus-operator. An object of a kind
 * neither knows is an error: a typo in apiVersion or kind must not pass unchecked.
 *
 * Not checked: unknown fields (the Kubernetes schemas allow them; the API server drops or
 * refuses them). The policy checks (policy.ts) read the fields that matter by name, so a
 * misspelt probe or resource block fails there.
 */

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

function modulePath(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  // The core group ("v1") lives at the package's top level, the others under group/version.
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** The schema problems of one object (empty when it is valid). */
export async function schemaErrors(object: K8sObject): Promise<string[]> {
  const where = `${object.kind}/${object.metadata?.name}`;
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
    return [`${where}: apiVersion and kind are required`];
  }
  let model: ModelClass | undefined;
  try {
    const module = (await import(modulePath(object.apiVersion, object.kind))) as Record<string, ModelClass>;
    model = module[object.kind];
  } catch {
    model = undefined;
  }
  if (model === undefined) return [`${where}: no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new model(object).validate();
    return [];
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
}
