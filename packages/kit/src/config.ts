import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { secretWeakness } from './secrets.ts';

/** Every problem found in a configuration, reported together. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly string[];

  constructor(source: string, issues: readonly string[]) {
    super(`${source}: ${issues.length} configuration problem(s)\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export function isProduction(env: Env): boolean {
  return env.NODE_ENV === 'production';
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** zod issues as one line each, naming the key (for env schemas: the variable). */
export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
}

/**
 * Parses `input` with `schema`, collecting every problem. The result is deeply
 * frozen: configuration is parsed once and never changed afterwards.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigError(source, formatZodIssues(result.error));
  return deepFreeze(result.data);
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

export function readYamlFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  try {
    return parseYaml(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    throw new ConfigError(path, [`not valid YAML: ${(err as Error).message}`]);
  }
}

/** A reference to an environment variable inside a config file: `{ env: NAME }`. */
export interface EnvRef {
  env: string;
}

function isEnvRef(value: unknown): value is EnvRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { env?: unknown }).env === 'string'
  );
}

/**
 * Replaces every `{ env: NAME }` in a parsed file with the variable's value.
 * A missing variable is a problem naming both the variable and the key; there
 * is never a fallback value.
 */
export function resolveEnvRefs(
  value: unknown,
  env: Env,
  issues: string[],
  path: PropertyKey[] = [],
): unknown {
  if (isEnvRef(value)) {
    const found = env[value.env];
    if (found === undefined || found === '') {
      issues.push(`${formatPath(path)}: environment variable ${value.env} is not set`);
      return undefined;
    }
    return found;
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveEnvRefs(item, env, issues, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = resolveEnvRefs(item, env, issues, [...path, key]);
    return out;
  }
  return value;
}

/** Every `{ env: NAME }` reference in a parsed file: where it stands and which variable it names. */
export function envRefs(
  value: unknown,
  path: string[] = [],
  out: { path: string[]; name: string }[] = [],
): { path: string[]; name: string }[] {
  if (isEnvRef(value)) out.push({ path, name: value.env });
  else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) envRefs(item, [...path, String(i)], out);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) envRefs(item, [...path, key], out);
  }
  return out;
}

/** The key paths that hold `{ env: NAME }` references (they are secrets to mask). */
export function envRefPaths(value: unknown): string[][] {
  return envRefs(value).map((ref) => ref.path);
}

/** A secret: required, at least 32 bytes, not a well-known default. No fallback, ever. */
export function secretString() {
  return z.string({ error: 'is required (a secret has no default)' }).superRefine((value, ctx) => {
    const weakness = secretWeakness(value);
    if (weakness !== undefined) ctx.addIssue({ code: 'custom', message: `secret ${weakness}` });
  });
}

// Keys that hold secrets: *secret*, *password*, credentials, DSNs, and names ending in key(s)/token
// (apiKey, hmacKeys, accessToken), not counters that merely mention them (tokenCacheEntries).
const SECRET_KEY = /secret|password|passphrase|credential|dsn|(key|keys|token)$/i;

/** A copy of `value` with every secret-looking key (or listed path) replaced by "***". */
export function maskSecrets(value: unknown, extraPaths: readonly (readonly string[])[] = []): unknown {
  const masked = maskByName(value);
  for (const path of extraPaths) maskPath(masked, path);
  return masked;
}

function maskByName(value: unknown, key = '', inSecret = false): unknown {
  const secret = inSecret || (key !== '' && SECRET_KEY.test(key));
  // Values below a secret-looking key are secret (`privateKey: { pem }`, `hmacKeys: [..]`); objects in
  // a list stand for themselves (`keys: [{ kid, secret }]` shows the kid).
  if (secret && (typeof value === 'string' || typeof value === 'number')) return '***';
  if (Array.isArray(value)) {
    return value.map((item) =>
      item !== null && typeof item === 'object' ? maskByName(item) : maskByName(item, key, secret),
    );
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(value)) out[k] = maskByName(item, k, secret);
    return out;
  }
  return value;
}

function maskPath(target: unknown, path: readonly string[]): void {
  // A listed path may run through null or a primitive once the schema has shaped
  // the value (`in` throws on those): such a path is simply not there.
  let node = target;
  for (let i = 0; i < path.length - 1 && isObject(node); i++) node = node[path[i] as string];
  const last = path[path.length - 1];
  if (isObject(node) && last !== undefined && last in node) node[last] = '***';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

/**
 * Writes every configuration problem to stderr and exits with code 1. Used by
 * each `main.ts` before a logger exists.
 */
export function exitOnConfigError(err: unknown, service: string): never {
  if (err instanceof Error && (err as { code?: unknown }).code === 'CONFIG_INVALID') {
    process.stderr.write(`${service}: refusing to start\n${err.message}\n`);
  } else {
    process.stderr.write(
      `${service}: refusing to start: ${err instanceof Error ? err.stack : String(err)}\n`,
    );
  }
  process.exit(1);
}
