import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAssertionSigner,
  createServiceCallSigner,
  type Database,
  openPostgres,
} from '@gatehouse/kit/service';
import { captureLogger, randomSecret } from '@gatehouse/kit/testing';
import { decodeJwt } from 'jose';
import { type AuthApp, buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

export const STRONG_PASSWORD = 'correct mango stapler 7 violin';

export interface TestBackend {
  readonly name: string;
  readonly skip: string | false;
  /** An open database for one app, or undefined for the in-memory PGlite. */
  open(): Promise<Database | undefined>;
}

const postgresUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;

/** PGlite always; Postgres (a fresh schema per app, dropped at close) when the test script started one. */
export const BACKENDS: readonly TestBackend[] = [
  { name: 'PGlite', skip: false, open: async () => undefined },
  {
    name: 'Postgres',
    skip:
      postgresUrl === undefined
        ? 'SKIPPED (Postgres not installed): GATEHOUSE_TEST_POSTGRES_URL is not set'
        : false,
    open: () =>
      openPostgres({ url: postgresUrl as string, schema: `auth_test_${randomBytes(6).toString('hex')}` }),
  },
];

/** The identity service on an in-memory PGlite (or the given backend), cheap argon2 (never allowed in production). */
export async function startAuth(
  env: Record<string, string> = {},
  backend: TestBackend = BACKENDS[0] as TestBackend,
) {
  const secret = randomSecret();
  const config = loadConfig({
    GATEWAY_ASSERTION_SECRET: secret,
    AUTH_DB_MEMORY: 'true',
    AUTH_DATA_DIR: mkdtempSync(join(tmpdir(), 'gh-auth-')),
    AUTH_ARGON2_MEMORY_KIB: '1024',
    AUTH_ARGON2_TIME_COST: '1',
    AUTH_CLIENT_MAX_FAILURES: '10000',
    AUTH_COOKIE_INSECURE_DEV: 'false',
    LOG_LEVEL: 'info',
    ...env,
  });
  const log = captureLogger('auth', 'info');
  const database = await backend.open();
  const auth: AuthApp = await buildApp(config, {
    logger: log.logger,
    ...(database === undefined ? {} : { database }),
  });
  async function close(): Promise<void> {
    await auth.close();
    if (database !== undefined) {
      const schema = (await database.query<{ s: string }>('select current_schema() as s')).rows[0]?.s;
      if (schema?.startsWith('auth_test_')) await database.query(`drop schema ${schema} cascade`);
      await database.close();
    }
  }
  const signAssertion = createAssertionSigner(config.assertionKeys);
  let n = 0;

  /** What the gateway adds for a verified access token. */
  function gatewayHeaders(accessToken: string, method: string, path: string): Record<string, string> {
    const claims = decodeJwt(accessToken) as { sub: string; tid: string; roles: string[]; jti: string };
    const requestId = `test-req-${++n}-${Date.now()}`;
    return {
      'x-request-id': requestId,
      'x-gateway-assertion': signAssertion(
        { sub: claims.sub, tid: claims.tid, roles: claims.roles, jti: claims.jti },
        { method, path: path.split('?')[0] as string, requestId },
      ),
    };
  }

  async function call(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) Object.assign(headers, gatewayHeaders(options.token, method, url));
    return auth.app.inject({
      method,
      url,
      headers,
      ...(options.body === undefined ? {} : { payload: options.body as object }),
    });
  }

  const service = createServiceCallSigner(config.assertionKeys, 'gateway');
  async function internal(method: 'GET' | 'PUT', url: string, body?: unknown) {
    return auth.app.inject({
      method,
      url,
      headers: { ...service(method, url) },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  }

  /** The newest token mailed to `to` through the development outbox log line. */
  function mailedToken(to: string, subject: RegExp): string {
    const line = [...log.lines]
      .reverse()
      .find((l) => l.to === to && typeof l.subject === 'string' && subject.test(l.subject));
    const match = /token: (\S+)/.exec(String(line?.mailBody ?? ''));
    if (match === null) throw new Error(`no mail to ${to} matching ${subject}`);
    return match[1] as string;
  }

  let users = 0;
  async function registerUser(prefix = 'user') {
    const email = `${prefix}${++users}-${Date.now()}@example.com`;
    const res = await call('POST', '/api/auth/register', {
      body: {
        email,
        password: STRONG_PASSWORD,
        name: `${prefix} ${users}`,
        tenantName: `${prefix} tenant ${users}`,
      },
    });
    if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
    const body = res.json() as {
      accessToken: string;
      refreshToken: string;
      user: { id: string; email: string };
      tenant: { id: string };
    };
    return { email, ...body };
  }

  return {
    auth,
    config,
    log,
    call,
    internal,
    gatewayHeaders,
    mailedToken,
    registerUser,
    close,
  };
}

export type TestAuth = Awaited<ReturnType<typeof startAuth>>;

export function claimsOf(token: string) {
  return decodeJwt(token) as {
    sub: string;
    tid: string;
    roles: string[];
    jti: string;
    iat: number;
    exp: number;
  };
}
