import { randomBytes } from 'node:crypto';
import type { RunningAuth } from '../auth/process.ts';
import { startServiceProcess } from './service-process.ts';

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
  /** Operations (`METHOD /path/{template}`) the fuzzer leaves out, each with a comment saying why. */
  readonly skip?: readonly string[];
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
  {
    name: 'chat',
    upstream: 'chat',
    document: '/api/chat/openapi.json',
    start: ({ env }) => startServiceProcess('chat', 'CHAT', env),
    // A conversation of the caller's (they own it) with one message: ids that reach the handlers.
    async session(gatewayUrl) {
      const user = await signUp(gatewayUrl);
      const conversation = await call(gatewayUrl, user, 'POST', '/api/chat/conversations', {
        kind: 'public',
        name: 'fuzzing',
      });
      const message = await call(
        gatewayUrl,
        user,
        'POST',
        `/api/chat/conversations/${conversation.id}/messages`,
        { body: 'hello' },
      );
      return { ...user, known: { ...user.known, id: conversation.id, messageId: message.id } };
    },
  },
  {
    name: 'billing',
    upstream: 'billing',
    document: '/api/billing/openapi.json',
    start: ({ env }) => startServiceProcess('billing', 'BILLING', env),
    // The sign-up makes the caller the owner of a tenant: the owner-only routes are reached too.
    session: signUp,
    // Not fuzzed: the provider's raw body, verified by its signature before it is parsed, so a
    // generated JSON body is refused on the signature alone (400) whatever it holds. Its
    // signature, replay and parsing tests are in packages/billing/test.
    skip: ['POST /api/billing/webhooks/{provider}'],
  },
];

/** One setup request through the gateway; any answer but 2xx stops the suite with its text. */
async function call(
  gatewayUrl: string,
  session: Session,
  method: string,
  path: string,
  body: unknown,
): Promise<{ id: string }> {
  const res = await fetch(`${gatewayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}
