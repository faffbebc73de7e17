import {
  ConfigError,
  deepFreeze,
  type Env,
  envRefs,
  formatZodIssues,
  isProduction,
  maskSecrets,
  readYamlFile,
  resolveEnvRefs,
} from '@gatehouse/kit';
import { accessCrossReferenceIssues } from '../access/schema.ts';
import { type GatewayConfig, gatewayConfigSchema } from './schema.ts';

export interface LoadedConfig {
  readonly config: GatewayConfig;
  /** The effective config with every secret masked: for logs, `/config` and `check`. */
  readonly masked: unknown;
}

/**
 * Validates a parsed config document: `{ env: NAME }` references resolved,
 * schema checked, production rules applied, every problem reported at once.
 */
export function loadGatewayConfig(document: unknown, env: Env, source: string): LoadedConfig {
  const issues: string[] = [];
  const refs = envRefs(document);
  const secretPaths = refs.map((ref) => ref.path);
  const resolved = resolveEnvRefs(document, env, issues);
  const result = gatewayConfigSchema.safeParse(resolved);
  if (!result.success) issues.push(...namingVariables(formatZodIssues(result.error), refs));
  issues.push(...crossReferenceIssues(resolved), ...accessCrossReferenceIssues(resolved));
  if (result.success) issues.push(...productionIssues(result.data, env), ...websocketIssues(result.data));
  if (issues.length > 0) throw new ConfigError(source, issues);
  const config = deepFreeze(result.data as GatewayConfig);
  // A Redis URL may carry a password whatever its key is called.
  return {
    config,
    masked: maskSecrets(config, [...secretPaths, ['rateLimits', 'redisUrl'], ['access', 'redisUrl']]),
  };
}

export function loadGatewayConfigFile(path: string, env: Env): LoadedConfig {
  return loadGatewayConfig(readYamlFile(path), env, path);
}

/**
 * Checks between parts of the file (a route's upstream is declared, prefixes
 * are unique). Run on the raw document, so they are reported together with
 * the schema's problems rather than after them are fixed.
 */
function crossReferenceIssues(document: unknown): string[] {
  const doc = (document ?? {}) as { upstreams?: unknown; routes?: unknown };
  const upstreams =
    typeof doc.upstreams === 'object' && doc.upstreams !== null ? Object.keys(doc.upstreams) : [];
  const routes = Array.isArray(doc.routes) ? (doc.routes as { upstream?: unknown; prefix?: unknown }[]) : [];
  const issues: string[] = [];
  const prefixes = new Set<unknown>();
  routes.forEach((route, i) => {
    if (typeof route?.upstream === 'string' && !upstreams.includes(route.upstream)) {
      issues.push(
        `routes[${i}].upstream: unknown upstream "${route.upstream}" (declared: ${upstreams.join(', ')})`,
      );
    }
    if (prefixes.has(route?.prefix))
      issues.push(`routes[${i}].prefix: duplicate prefix ${String(route.prefix)}`);
    prefixes.add(route?.prefix);
  });
  return issues;
}

/** Tunnels must be closed before the process's own shutdown bound cuts them. */
function websocketIssues(config: GatewayConfig): string[] {
  const { drainDeadlineMs } = config.websockets;
  if (drainDeadlineMs >= config.limits.shutdownDeadlineMs) {
    return [
      `websockets.drainDeadlineMs: ${drainDeadlineMs} must be below limits.shutdownDeadlineMs (${config.limits.shutdownDeadlineMs})`,
    ];
  }
  return [];
}

/** A problem with a value that came from `{ env: NAME }` names the variable too. */
function namingVariables(issues: string[], refs: readonly { path: string[]; name: string }[]): string[] {
  const variables = new Map<string, string>();
  for (const { path, name } of refs) {
    const key = path
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
      .join('')
      .slice(1);
    variables.set(key, name);
  }
  return issues.map((issue) => {
    const key = issue.slice(0, issue.indexOf(':'));
    const variable = variables.get(key);
    return variable === undefined ? issue : `${variable} (${issue})`;
  });
}

/** What a production gateway refuses although a developer's machine may use it. */
function productionIssues(config: GatewayConfig, env: Env): string[] {
  if (!isProduction(env)) return [];
  const issues: string[] = [];
  if (config.development !== undefined)
    issues.push('development: development-only settings are refused in production');
  for (const [i, cidr] of config.trustedProxies.entries()) {
    if (/\/0$/.test(cidr))
      issues.push(`trustedProxies[${i}]: trusting every address is refused in production`);
  }
  if (config.cors.origins.includes('*')) issues.push('cors.origins: "*" is refused in production');
  return issues;
}
