import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  chromiumMissing,
  openPage,
  PASSWORD,
  type PageWatch,
  type Stack,
  screenshot,
  startStack,
  uniqueEmail,
} from './stack.ts';
import { apiLogin, expectAccessible, signInInUi, signUpInUi } from './ui.ts';

/**
 * The identity pages in a real browser through the real gateway: sign-up,
 * keyboard-only sign-in, mailed links (verification, reset, invitation),
 * teams and members, sessions that end — with axe-core on every
 * page, the CSP watched for violations, and hostile names rendered as text.
 */

const skip = chromiumMissing();
const shots = mkdtempSync(join(tmpdir(), 'gh-web-shots-'));
const XSS = '<img src=x onerror="window.__xss=1">';

describe('web app: identity pages in Chromium', { skip, timeout: 900_000 }, () => {
  let stack: Stack;
  let owner: PageWatch;
  const ownerUser = { name: 'Ada Lovelace', email: uniqueEmail('ada'), team: 'Analytical Engines' };

  before(
    async () => {
      // The whole platform, as npm start runs it: the team page reads the plan's seats from billing.
      // Tokens that expire during a session: tests/web/token-expiry.test.ts.
      stack = await startStack({ product: true });
      owner = await openPage(stack);
    },
    { timeout: 600_000 },
  );
  after(async () => {
    await stack?.stop();
  });

  it('serves the page with its CSP, never stored, and hashed assets for a year', async () => {
    const page = await fetch(`${stack.url}/team`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script in the page');
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, 'the page loads a hashed script');
    const js = await fetch(`${stack.url}${asset}`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  });

  it('answers an unknown /api path with the gateway 404 problem, never the page', async () => {
    for (const path of ['/api/nothing-here', '/api/auth-x/y', '/api']) {
      const res = await fetch(`${stack.url}${path}`, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, path);
      assert.equal(((await res.json()) as { code: string }).code, 'GW_ROUTE_NOT_FOUND', path);
    }
  });

  it('signs up through the form and lands signed in, the name shown as text', async () => {
    const p = owner.page;
    await p.goto('/sign-up');
    await expectAccessible(p, 'sign-up');
    await screenshot(p, 'sign-up', shots);
    await signUpInUi(p, ownerUser);
    await p.getByText('Please confirm your email address').waitFor();
    await expectAccessible(p, 'home');
    await screenshot(p, 'home', shots);
  });

  it('confirms the email address from the mailed link', async () => {
    const token = await stack.auth.mailedToken(ownerUser.email, /verify/i);
    await owner.page.goto(`/verify-email#token=${token}`);
    await owner.page.getByText('Your email address is confirmed.').waitFor();
    await expectAccessible(owner.page, 'verify-email');
    await owner.page.goto('/account');
    await owner.page.getByText('confirmed', { exact: true }).waitFor();
    await expectAccessible(owner.page, 'account');
    await screenshot(owner.page, 'account', shots);
  });

  it('shows a used link as a sentence a person can act on', async () => {
    const p = (await openPage(stack)).page;
    await p.goto('/verify-email#token=ghv_this-token-was-never-issued');
    await p
      .getByRole('alert')
      .getByText(/This link is not valid any more/)
      .waitFor();
    await p.context().close();
  });

  it('signs in with the keyboard alone', async () => {
    const { page: p, context } = await openPage(stack);
    await p.goto('/sign-in');
    await expectAccessible(p, 'sign-in');
    await screenshot(p, 'sign-in', shots);
    // The page's heading has the focus; the form follows it.
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate('document.activeElement.name'), 'email');
    await p.keyboard.type(ownerUser.email);
    await p.keyboard.press('Tab');
    await p.keyboard.type(PASSWORD);
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { level: 1, name: `Welcome, ${ownerUser.name}` }).waitFor();
    // Then on through the navigation, still by keyboard.
    await p.keyboard.press('Shift+Tab');
    for (let i = 0; i < 10; i++) {
      const text = await p.evaluate('document.activeElement?.textContent');
      if (text === 'Team') break;
      await p.keyboard.press('Shift+Tab');
    }
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { level: 1, name: `Team: ${ownerUser.team}` }).waitFor();
    await context.close();
  });

  it('says what went wrong with a wrong password, and keeps what was typed', async () => {
    const { page: p, context } = await openPage(stack);
    await p.goto('/sign-in');
    await signInInUi(p, ownerUser.email, 'not the password at all');
    await p
      .getByRole('alert')
      .getByText(/The email or password is not correct/)
      .waitFor();
    assert.equal(await p.getByLabel('Email').inputValue(), ownerUser.email);
    await context.close();
  });

  it('renders an XSS payload in a team name and a user name as text', async () => {
    const { page: p, context } = await openPage(stack);
    await signUpInUi(p, { name: XSS, email: uniqueEmail('xss'), team: XSS });
    await p.goto('/team');
    await p.getByRole('cell', { name: XSS, exact: true }).first().waitFor();
    await p.getByRole('button', { name: 'Create team' }).isDisabled();
    await p.getByLabel('New team name').fill(`${XSS} 2`);
    await p.getByRole('button', { name: 'Create team' }).click();
    await p.getByRole('heading', { level: 1, name: `Team: ${XSS} 2` }).waitFor();
    assert.equal(await p.locator('img').count(), 0, 'no element was made from the payload');
    assert.equal(await p.evaluate('window.__xss'), undefined);
    await context.close();
  });

  it('creates and switches teams, invites a second person who accepts by the mailed link', async () => {
    const p = owner.page;
    await p.goto('/team');
    await p.getByRole('heading', { level: 1, name: `Team: ${ownerUser.team}` }).waitFor();
    const bob = { name: 'Bob Babbage', email: uniqueEmail('bob'), team: 'Difference Engines' };
    await p.getByLabel('Email to invite').fill(bob.email);
    await p.getByRole('button', { name: 'Send invitation' }).click();
    await p.getByText(`Invitation sent to ${bob.email}`).waitFor();
    await p.getByRole('cell', { name: bob.email, exact: true }).waitFor();

    // A second invitation, revoked.
    const carol = uniqueEmail('carol');
    await p.getByLabel('Email to invite').fill(carol);
    await p.getByRole('button', { name: 'Send invitation' }).click();
    await p.getByRole('button', { name: `Revoke the invitation to ${carol}` }).click();
    await p.getByRole('cell', { name: carol, exact: true }).waitFor({ state: 'detached' });

    const token = await stack.auth.mailedToken(bob.email, /invited/i);
    const second = await openPage(stack);
    await signUpInUi(second.page, bob);
    await second.page.goto(`/accept-invitation#token=${token}`);
    await expectAccessible(second.page, 'accept-invitation');
    await second.page.getByRole('button', { name: 'Accept the invitation' }).click();
    await second.page.getByText('You joined the team as member.').waitFor();
    await second.page.getByRole('button', { name: 'Switch to the team' }).click();
    await second.page.getByRole('heading', { level: 1, name: `Team: ${ownerUser.team}` }).waitFor();
    await second.page.getByText('You are a member of this team.').waitFor();
    await expectAccessible(second.page, 'team (member)');
    assert.deepEqual(await second.cspViolations(), []);
    assert.deepEqual(second.errors, []);
    await second.context.close();

    await p.reload();
    await p.getByRole('cell', { name: bob.email, exact: true }).waitFor();
    // Make Bob an admin.
    await p.getByLabel(`Role of ${bob.name}`, { exact: true }).selectOption('admin');
    await p.getByRole('button', { name: `Save the role of ${bob.name}` }).click();
    await p.getByRole('button', { name: `Save the role of ${bob.name}` }).isDisabled();
    // Seats used of the free plan's, as billing's catalogue has them.
    const catalogue = (await (await fetch(`${stack.url}/api/billing/plans`)).json()) as {
      plans: { id: string; entitlements: { seats: number } }[];
    };
    const freeSeats = catalogue.plans.find((plan) => plan.id === 'free')?.entitlements.seats;
    assert.ok(freeSeats !== undefined, 'billing serves a free plan');
    await p
      .getByTestId('seat-usage')
      .filter({ hasText: `2 of ${freeSeats} seats used.` })
      .waitFor();
    await expectAccessible(p, 'team (owner)');
    await screenshot(p, 'team', shots);

    // Another team of one's own, then back.
    await p.getByLabel('New team name').fill('Second Workshop');
    await p.getByRole('button', { name: 'Create team' }).click();
    await p.getByRole('heading', { level: 1, name: 'Team: Second Workshop' }).waitFor();
    await p.getByRole('button', { name: `Switch to ${ownerUser.team}` }).click();
    await p.getByRole('heading', { level: 1, name: `Team: ${ownerUser.team}` }).waitFor();
  });

  it('returns to sign-in in place when the session ends, keeping the draft', async () => {
    const { page: p, context } = await openPage(stack);
    await p.goto('/team');
    await signInInUi(p, ownerUser.email);
    await p.getByRole('heading', { level: 1, name: `Team: ${ownerUser.team}` }).waitFor();
    await p.getByLabel('New team name').fill('A draft that must survive');

    // Every session of the user ends elsewhere (another device's "sign out everywhere").
    const token = await apiLogin(stack, ownerUser.email);
    const res = await fetch(`${stack.url}/api/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 204);
    for (let i = 0; i < 50; i++) {
      const me = await fetch(`${stack.url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } });
      if (me.status === 401) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).click();
    await p.getByText('Your session has ended.').first().waitFor();
    assert.equal(new URL(p.url()).pathname, '/team');
    await expectAccessible(p, 'sign-in (session ended)');
    await signInInUi(p, ownerUser.email);
    await p.getByRole('heading', { level: 1, name: `Team: ${ownerUser.team}` }).waitFor();
    assert.equal(await p.getByLabel('New team name').inputValue(), 'A draft that must survive');
    await context.close();
  });

  it('resets a forgotten password by the mailed link', async () => {
    const { page: p, context } = await openPage(stack);
    const user = { name: 'Grace Hopper', email: uniqueEmail('grace'), team: 'Compilers' };
    await signUpInUi(p, user);
    await p.goto('/account');
    await p.getByRole('button', { name: 'Sign out on this device' }).click();
    await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await p.goto('/forgot-password');
    await expectAccessible(p, 'forgot-password');
    await p.getByLabel('Email').fill(user.email);
    await p.getByRole('button', { name: 'Send the link' }).click();
    await p.getByText(/a link to set a new password is on its way/).waitFor();
    const token = await stack.auth.mailedToken(user.email, /reset/i);
    await p.goto(`/reset-password#token=${token}`);
    await expectAccessible(p, 'reset-password');
    const newPassword = 'a brand new passphrase for grace';
    await p.getByLabel('New password', { exact: true }).fill(newPassword);
    await p.getByRole('button', { name: 'Set the password' }).click();
    await p.getByText(/Your password is changed/).waitFor();
    await p.goto('/sign-in');
    await signInInUi(p, user.email, newPassword);
    await p.getByRole('heading', { level: 1, name: `Welcome, ${user.name}` }).waitFor();

    // Change it again from the account page: every session ends, this one too.
    await p.goto('/account');
    await p.getByLabel('Current password', { exact: true }).fill(newPassword);
    await p.getByLabel('New password', { exact: true }).fill(PASSWORD);
    await p.getByRole('button', { name: 'Change password' }).click();
    await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await p.reload();
    await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await context.close();
  });

  it('signs out everywhere', async () => {
    const { page: p, context } = await openPage(stack);
    await p.goto('/account');
    await signInInUi(p, ownerUser.email);
    await p.getByRole('button', { name: 'Sign out everywhere' }).click();
    await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await p.reload();
    await p.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await context.close();
  });

  it('has a findable not-found page', async () => {
    const { page: p, context } = await openPage(stack);
    await p.goto('/no/such/page');
    await p.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    await expectAccessible(p, 'not-found');
    await context.close();
  });

  it('met no CSP violation and no script error on the way', async () => {
    assert.deepEqual(await owner.cspViolations(), []);
    assert.deepEqual(owner.errors, []);
  });
});
