import { randomUUID } from 'node:crypto';
import type { Cookie } from 'playwright-core';
import { PASSWORD, type Stack, uniqueEmail } from '../../tests/web/stack.ts';

/**
 * The people the browser bench needs, made through the gateway's API as the
 * app would: an owner whose team is on the premium plan (chat lets a member
 * send 600 messages a minute there, 30 on the free plan), a second member
 * invited and accepted, and a public channel both are in.
 */

/** The identity service's refresh cookie (Secure; Chromium takes it from http://127.0.0.1). */
export const REFRESH_COOKIE = '__Host-gh_refresh';

export interface Person {
  readonly name: string;
  readonly email: string;
}

export interface BenchTeam {
  readonly tenantId: string;
  readonly channelId: string;
  /** The channel's name as the conversation list shows it (`#name`). */
  readonly channelName: string;
  readonly owner: Person;
  readonly member: Person;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly refreshCookie: string | undefined;
}

async function call(
  stack: Stack,
  path: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(`${stack.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...init.headers,
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const cookie = res.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${REFRESH_COOKIE}=`))
    ?.split(';')[0]
    ?.slice(REFRESH_COOKIE.length + 1);
  const text = await res.text();
  return {
    status: res.status,
    body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
    refreshCookie: cookie,
  };
}

function expect(answer: Answer, status: number, what: string): Answer {
  if (answer.status !== status)
    throw new Error(`${what}: ${answer.status} (expected ${status}) ${JSON.stringify(answer.body)}`);
  return answer;
}

export async function setUpTeam(stack: Stack): Promise<BenchTeam> {
  const owner = { name: 'Bench Owner', email: uniqueEmail('bench-owner') };
  const member = { name: 'Bench Member', email: uniqueEmail('bench-member') };
  const ownerToken = expect(
    await call(stack, '/api/auth/register', {
      body: { email: owner.email, password: PASSWORD, name: owner.name, tenantName: 'Bench' },
    }),
    201,
    'register the owner',
  ).body.accessToken as string;
  const tenantId = expect(await call(stack, '/api/auth/me', { token: ownerToken }), 200, 'me').body
    .tenantId as string;
  const tenant = `/api/billing/tenants/${tenantId}`;
  expect(
    await call(stack, `${tenant}/subscription`, {
      token: ownerToken,
      body: { plan: 'premium' },
      headers: { 'idempotency-key': randomUUID() },
    }),
    201,
    'subscribe to premium',
  );
  expect(
    await call(stack, `/api/auth/tenants/${tenantId}/invitations`, {
      token: ownerToken,
      body: { email: member.email, role: 'member' },
    }),
    201,
    'invite the member',
  );
  const memberToken = expect(
    await call(stack, '/api/auth/register', {
      body: { email: member.email, password: PASSWORD, name: member.name, tenantName: 'Bench Member' },
    }),
    201,
    'register the member',
  ).body.accessToken as string;
  const invitation = await stack.auth.mailedToken(member.email, /invited/i);
  expect(
    await call(stack, '/api/auth/invitations/accept', { token: memberToken, body: { token: invitation } }),
    200,
    'accept the invitation',
  );
  const memberInTeam = await tokenFor(stack, member, tenantId);

  const channelName = 'bench';
  const channelId = expect(
    await call(stack, '/api/chat/conversations', {
      token: ownerToken,
      body: { kind: 'public', name: channelName },
    }),
    201,
    'create the channel',
  ).body.id as string;
  expect(
    await call(stack, `/api/chat/conversations/${channelId}/join`, { token: memberInTeam.token, body: {} }),
    204,
    'join the channel',
  );
  // The plan reached the services: billing says premium.
  const sub = expect(await call(stack, `${tenant}/subscription`, { token: ownerToken }), 200, 'subscription');
  const tier = (sub.body.entitlements as { tier?: string } | undefined)?.tier;
  if (tier !== 'premium') throw new Error(`the bench team is on ${tier}, not premium`);
  return { tenantId, channelId, channelName, owner, member };
}

/** A sign-in of `who` acting for `tenantId`: the access token and the refresh cookie's value. */
async function tokenFor(
  stack: Stack,
  who: Person,
  tenantId: string,
): Promise<{ token: string; refreshCookie: string }> {
  const login = expect(
    await call(stack, '/api/auth/login', { body: { email: who.email, password: PASSWORD } }),
    200,
    `sign in ${who.email}`,
  );
  const token = login.body.accessToken as string;
  const me = expect(await call(stack, '/api/auth/me', { token }), 200, 'me');
  const pair =
    me.body.tenantId === tenantId
      ? login
      : expect(
          await call(stack, '/api/auth/switch-tenant', { token, body: { tenantId } }),
          200,
          'switch to the bench team',
        );
  if (pair.refreshCookie === undefined) throw new Error(`no ${REFRESH_COOKIE} cookie in the answer`);
  return { token: pair.body.accessToken as string, refreshCookie: pair.refreshCookie };
}

/**
 * A fresh session's cookie for a browser context, as if the person had signed
 * in there earlier: the page finds it at load and refreshes through it.
 */
export async function sessionCookie(stack: Stack, who: Person, tenantId: string): Promise<Cookie> {
  const { refreshCookie } = await tokenFor(stack, who, tenantId);
  const { hostname } = new URL(stack.url);
  return {
    name: REFRESH_COOKIE,
    value: refreshCookie,
    domain: hostname,
    path: '/',
    expires: -1,
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
  };
}
