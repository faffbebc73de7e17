import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page, Request, Response, WebSocket } from 'playwright-core';
import { chromiumMissing, openPage, PASSWORD, type Stack, startStack, uniqueEmail } from './stack.ts';
import { signInInUi } from './ui.ts';

/**
 * A session in the browser outlives its access tokens. The identity service
 * here issues tokens that live TTL seconds (AUTH_ACCESS_TTL_SECONDS; below
 * 60 s only outside production) and the gateway allows 1 s of clock leeway,
 * so a token the page holds really expires while the page is open: each test
 * waits until the gateway itself refuses it, never for a fixed time and never
 * by moving the page's clock.
 */

const skip = chromiumMissing();
const TTL = 15;
const COOKIE = '__Host-gh_refresh';

/** Polls `check` until it holds; the limit is generous (a loaded machine), the wait as short as the condition. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function claimsOf(token: string): { iat: number; exp: number } {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'));
}
const expOf = (token: string) => claimsOf(token).exp;

const isRefresh = (r: Request) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/auth/refresh';
const bearerOf = (r: Request) => r.headers().authorization?.replace(/^Bearer /, '');

/** Every API call the page makes, in order, with the token it carried and the status it got. */
function recordCalls(p: Page) {
  const calls: { path: string; method: string; token: string | undefined; status: number }[] = [];
  p.on('response', (res: Response) => {
    const req = res.request();
    const url = new URL(req.url());
    if (!url.pathname.startsWith('/api/')) return;
    calls.push({
      path: url.pathname,
      method: req.method(),
      token: bearerOf(req),
      status: res.status(),
    });
  });
  return calls;
}

describe('web app: access tokens that expire during a session', { skip, timeout: 600_000 }, () => {
  let stack: Stack;
  const user = { name: 'Tess Timer', email: uniqueEmail('tess'), team: 'Clockworks' };
  let channel = '';

  /** A fresh token for the person through the API, as another device of theirs would have. */
  async function apiToken(): Promise<string> {
    const res = await fetch(`${stack.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: PASSWORD }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { accessToken: string }).accessToken;
  }

  /** True once the gateway refuses `token` as it refuses any expired token. */
  async function refused(token: string): Promise<boolean> {
    const res = await fetch(`${stack.url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status === 200) return false;
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, 'GW_INVALID_TOKEN');
    return true;
  }

  before(
    async () => {
      stack = await startStack({
        product: true,
        authEnv: { AUTH_ACCESS_TTL_SECONDS: String(TTL) },
        clockToleranceSeconds: 1,
      });
      const reg = await fetch(`${stack.url}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: user.email,
          password: PASSWORD,
          name: user.name,
          tenantName: user.team,
        }),
      });
      assert.equal(reg.status, 201);
      const { accessToken } = (await reg.json()) as { accessToken: string };
      const { iat, exp } = claimsOf(accessToken);
      assert.equal(exp - iat, TTL, 'the identity service issues tokens of the short test lifetime');
      const created = await fetch(`${stack.url}/api/chat/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ kind: 'public', name: 'ticking' }),
      });
      assert.equal(created.status, 201);
      channel = ((await created.json()) as { id: string }).id;
    },
    { timeout: 300_000 },
  );
  after(async () => {
    await stack?.stop();
  });

  it('refreshes ahead of expiry through the __Host- cookie; live updates and sending go on after the first token expired', {
    timeout: 300_000,
  }, async () => {
    const w = await openPage(stack);
    const p = w.page;
    const sockets: WebSocket[] = [];
    p.on('websocket', (ws) => sockets.push(ws));
    const all = recordCalls(p);
    await p.goto(`/chat/${channel}`);
    const login = p.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/login');
    await signInInUi(p, user.email);
    const first = ((await (await login).json()) as { accessToken: string }).accessToken;
    /** The calls since signing in (the page load's refresh without a cookie is a 401 by design). */
    const signedIn = () => all.slice(all.findIndex((c) => c.path === '/api/auth/login') + 1);
    await p.getByRole('heading', { level: 2, name: '#ticking' }).waitFor();
    await p.getByText('Connecting to live updates').waitFor({ state: 'detached' });

    // Nothing refused anything yet: the app's own timer refreshes, with the cookie, before the token runs out.
    const ahead = await p.waitForResponse((r) => isRefresh(r.request()), { timeout: (TTL + 60) * 1000 });
    assert.equal(ahead.status(), 200);
    const sentAt = ahead.request().timing().startTime;
    assert.ok(
      sentAt < expOf(first) * 1000,
      `the refresh was sent ${sentAt - expOf(first) * 1000} ms after the first token expired`,
    );
    const cookie = (await ahead.request().allHeaders()).cookie ?? '';
    assert.match(cookie, new RegExp(`(^|; )${COOKIE}=`), 'the refresh carried the __Host- cookie');
    const rotated = (await ahead.headerValue('set-cookie')) ?? '';
    assert.match(rotated, new RegExp(`^${COOKIE}=[^;]+;`), 'and got a rotated one back');
    for (const attribute of [/; HttpOnly(;|$)/i, /; Secure(;|$)/i, /; SameSite=Strict(;|$)/i])
      assert.match(rotated, attribute);
    assert.equal(ahead.request().headers().authorization, undefined, 'the refresh sends no bearer token');
    const second = ((await ahead.json()) as { accessToken: string }).accessToken;
    assert.notEqual(second, first);
    assert.ok(expOf(second) > expOf(first));

    // The first token really expires: the gateway refuses it.
    await until('the gateway refuses the first token', () => refused(first));

    // The chat service ended the socket opened with the first token (4401 at its expiry); the app
    // got a new ticket with a current token and is connected again.
    await until('the first socket is closed and another is open', () => {
      const open = sockets.filter((s) => !s.isClosed());
      return sockets[0]?.isClosed() === true && open.length === 1;
    });
    await p.getByText('Connecting to live updates').waitFor({ state: 'detached' });
    const [opening, ...later] = signedIn().filter((c) => c.path === '/api/ws-ticket');
    assert.equal(opening?.token, first, 'the first socket was opened with the first token');
    assert.ok(later.length >= 1, 'a new ticket was minted');
    assert.ok(
      later.every((c) => c.status === 201 && c.token !== first),
      JSON.stringify(later.map((c) => [c.status, c.token === first])),
    );

    // Another device of the person posts: the page shows it live, over the new socket.
    const elsewhere = await fetch(`${stack.url}/api/chat/conversations/${channel}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await apiToken()}` },
      body: JSON.stringify({ body: 'Posted from the phone after expiry' }),
    });
    assert.equal(elsewhere.status, 201);
    const list = p.getByRole('list', { name: 'Messages in #ticking' });
    await list.getByText('Posted from the phone after expiry', { exact: true }).waitFor();

    // And the person sends from the page.
    const posted = p.waitForResponse(
      (r) =>
        r.request().method() === 'POST' && r.url().endsWith(`/api/chat/conversations/${channel}/messages`),
    );
    await p.getByLabel('Message #ticking').fill('Typed after the first token expired');
    await p.getByLabel('Message #ticking').press('Enter');
    const sent = await posted;
    assert.equal(sent.status(), 201);
    assert.notEqual(bearerOf(sent.request()), first);
    await list.getByText('Typed after the first token expired', { exact: true }).waitFor();

    // Refreshed ahead, so no call of the page was refused on the way.
    assert.deepEqual(
      signedIn().filter((c) => c.status === 401),
      [],
    );
    assert.equal(await p.getByRole('alert').count(), 0);
    assert.deepEqual(await p.evaluate('Object.keys(localStorage)'), [], 'no token in localStorage');
    assert.deepEqual(await w.cspViolations(), []);
    assert.deepEqual(w.errors, []);
    await w.context.close();
  });

  it('on a 401 for a token that expired, refreshes once through the cookie and repeats the calls', {
    timeout: 300_000,
  }, async () => {
    const w = await openPage(stack);
    const p = w.page;
    await p.goto('/account');
    const login = p.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/login');
    await signInInUi(p, user.email);
    const first = ((await (await login).json()) as { accessToken: string }).accessToken;
    await p.getByRole('heading', { level: 1, name: 'Account' }).waitFor();

    // The refresh ahead of expiry fails as if the network had dropped for a moment; the app keeps
    // its token and carries on. Meanwhile the token really expires.
    let blocked = 0;
    await p.route('**/api/auth/refresh', (route) => {
      blocked++;
      return route.abort('internetdisconnected');
    });
    await until('the app tried to refresh ahead of expiry', () => blocked > 0);
    await until('the gateway refuses the token the page holds', () => refused(first));
    await p.unroute('**/api/auth/refresh');

    // The next page's calls go out with the expired token, are refused by the gateway, and are
    // repeated after one refresh (concurrent 401s share it).
    const calls = recordCalls(p);
    const refreshed = p.waitForResponse((r) => isRefresh(r.request()));
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).click();
    await p.getByRole('cell', { name: user.email, exact: true }).waitFor();
    await p.getByRole('heading', { level: 1, name: `Team: ${user.team}` }).waitFor();

    const refusedCalls = calls.filter((c) => c.status === 401);
    assert.ok(refusedCalls.length >= 1, 'a call went out with the expired token and was refused');
    assert.ok(refusedCalls.every((c) => c.token === first));
    const refreshes = calls.filter((c) => c.path === '/api/auth/refresh');
    assert.deepEqual(
      refreshes.map((c) => c.status),
      [200],
      'one refresh for all the refused calls',
    );
    const cookie = (await (await refreshed).request().allHeaders()).cookie ?? '';
    assert.match(cookie, new RegExp(`(^|; )${COOKIE}=`), 'the refresh carried the __Host- cookie');
    for (const r of refusedCalls) {
      const again = calls
        .slice(calls.indexOf(r) + 1)
        .find((c) => c.path === r.path && c.method === r.method && c.status < 400);
      assert.ok(again, `${r.method} ${r.path} was repeated and answered`);
      assert.notEqual(again.token, first);
    }
    assert.equal(await p.getByRole('alert').count(), 0);
    assert.deepEqual(await w.cspViolations(), []);
    await w.context.close();
  });
});
