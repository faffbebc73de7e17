import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild, waitForHttp } from '../lib/child.ts';
import { onServerCore } from '../lib/pin.ts';
import { freePort } from '../lib/ports.ts';
import { AUDIENCE, ISSUER } from '../lib/tokens.ts';
import { projectNode, REPO } from './gateway.ts';
import { childServer, logPath, type Server, type ServerContext } from './server.ts';

/**
 * The real identity service (`packages/auth/src/main.ts`): in-memory PGlite,
 * development signing keys in a scratch directory, the bench's Redis for
 * revocation events, argon2 at its cheapest (the bench must not wait on
 * hashing; the production minimum is refused only under NODE_ENV=production).
 * It issues the EdDSA access tokens the full-pipeline gateway verifies by JWKS.
 */
export const AUTH_MAIN = join(REPO, 'packages/auth/src/main.ts');

export interface IdentityStart {
  /** LOG_LEVEL (default warn); `info` logs the development outbox, where invitation tokens are read. */
  readonly logLevel?: string;
  /** More AUTH_* settings (e.g. AUTH_ACCESS_TTL_SECONDS). */
  readonly env?: Record<string, string>;
}

export async function startIdentity(
  ctx: ServerContext,
  redisUrl: string,
  assertionSecret: string,
  opts: IdentityStart = {},
): Promise<Server> {
  const port = await freePort();
  const dataDir = join(ctx.dir, 'auth-data');
  mkdirSync(dataDir, { recursive: true });
  // The service refuses unknown AUTH_* variables: start from an environment without any.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTH_')));
  const env = {
    ...inherited,
    NODE_ENV: 'test',
    LOG_LEVEL: opts.logLevel ?? 'warn',
    AUTH_HOST: '127.0.0.1',
    AUTH_PORT: String(port),
    AUTH_DB_MEMORY: 'true',
    AUTH_DATA_DIR: dataDir,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_ARGON2_MEMORY_KIB: '1024',
    AUTH_ARGON2_TIME_COST: '1',
    REDIS_URL: redisUrl,
    GATEWAY_ASSERTION_SECRET: assertionSecret,
    ...opts.env,
  };
  const [command, args] = onServerCore(ctx.pinning, projectNode(), [AUTH_MAIN]);
  const child = spawnChild({
    name: 'identity',
    command,
    args,
    env,
    cwd: REPO,
    logFile: logPath(ctx, 'identity'),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/ready`, child, 60_000);
  return childServer('identity', url, child);
}

/** One bench user (owner of its own tenant) and its current access token; `refresh` signs in again. */
export interface BenchUser {
  readonly email: string;
  accessToken: string;
  /** When the current token was obtained (ms since epoch). */
  obtainedAt: number;
  refresh(): Promise<string>;
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function tokenOf(answer: Record<string, unknown>, what: string): string {
  const token = answer.accessToken;
  if (typeof token !== 'string') throw new Error(`${what}: no accessToken in the answer`);
  return token;
}

/** Registers a user through the identity service's public API (a tenant is created with it). */
export async function registerUser(identityUrl: string): Promise<BenchUser> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  // Long, random: passes the length (≥ 15) and common-password checks.
  const password = `bench-${randomBytes(18).toString('base64url')}`;
  const answer = await post(`${identityUrl}/api/auth/register`, {
    email,
    password,
    name: 'Bench User',
    tenantName: 'Bench Tenant',
  });
  const user: BenchUser = {
    email,
    accessToken: tokenOf(answer, 'register'),
    obtainedAt: Date.now(),
    async refresh() {
      const pair = await post(`${identityUrl}/api/auth/login`, { email, password });
      user.accessToken = tokenOf(pair, 'login');
      user.obtainedAt = Date.now();
      return user.accessToken;
    },
  };
  return user;
}
