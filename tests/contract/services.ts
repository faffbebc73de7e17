import { randomBytes } from 'node:crypto';
import type { RunningAuth } from '../auth/process.ts';

/** A signed-in caller for the fuzzer: a token the gateway accepts, and values path parameters can take. */
export interface Session {
  readonly token: string;
  /** Path parameter name → a value that exists for this caller (its tenant, its own user id …). */
  readonly known: Readonly<Record<string, string>>;
}

export interface StartedService {
  readonly url: string;
  stop(): Promise<unknown>;
}

/**
 * One service under contract. Chat and billing join with one entry each: how
 * to start their real process, where the gateway finds their public document,
 * and how a caller gets a token and a tenant.
 */
export interface ContractService {
  readonly name: string;
  /** Its upstream's name in config/gateway.yaml (its address there is replaced by the started one). */
  readonly upstream: string;
  /** The public OpenAPI document, through the gateway. */
  readonly document: string;
  /** Starts the real process; `auth` is the platform's identity service (already running). */
  start(platform: {
    readonly env: Record<string, string>;
    readonly auth: RunningAuth;
  }): Promise<StartedService>;
  /** A fresh caller (the fuzzer asks again when a case revoked the last one, e.g. by signing out). */
  session(gatewayUrl: string): Promise<Session>;
}

const PASSWORD = 'contract fuzzing is patient 2026';

/** A new user with a tenant of their own, signed up through the gateway. */
export async function signUp(gatewayUrl: string): Promise<Session> {
  const res = await fetch(`${gatewayUrl}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `fuzz-${randomBytes(6).toString('hex')}@example.com`,
      password: PASSWORD,
      name: 'Fuzz',
      tenantName: 'Fuzzing',
    }),
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { accessToken: string; user: { id: string }; tenant: { id: string } };
  return { token: body.accessToken, known: { tenantId: body.tenant.id, userId: body.user.id } };
}

export const SERVICES: readonly ContractService[] = [
  {
    name: 'auth',
    upstream: 'auth',
    document: '/api/auth/openapi.json',
    // The identity service is the platform's own (the gateway needs its keys): already running.
    start: async ({ auth }) => ({ url: auth.url, stop: async () => undefined }),
    session: signUp,
  },
];
