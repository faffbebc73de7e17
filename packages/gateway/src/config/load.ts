import {
  ConfigError,
  deepFreeze,
  type Env,
  envRefPaths,
  formatZodIssues,
  isProduction,
  maskSecrets,
  readYamlFile,
  resolveEnvRefs,
} from '@gatehouse/kit';
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
  const secretPaths = envRefPaths(document);
  const resolved = resolveEnvRefs(document, env, issues);
  const result = gatewayConfigSchema.safeParse(resolved);
  if (!result.success) issues.push(...formatZodIssues(result.error));
  else issues.push(...productionIssues(result.data, env));
  if (issues.length > 0) throw new ConfigError(source, issues);
  const config = deepFreeze(result.data as GatewayConfig);
  return { config, masked: maskSecrets(config, secretPaths) };
}

export function loadGatewayConfigFile(path: string, env: Env): LoadedConfig {
  return loadGatewayConfig(readYamlFile(path), env, path);
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
