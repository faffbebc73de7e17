import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
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
import { expectAccessible, signInInUi, signUpInUi } from './ui.ts';

/**
 * The chat and billing pages in two (and three) browsers: two people of one
 * team chat live, with unread counts moving in the list; a third person of
 * another team sees none of it; one browser loses the network, misses
 * messages and gets each of them exactly once when it is back; the plan is
 * upgraded and the new limits show.
 */

const skip = chromiumMissing();
const shots = mkdtempSync(join(tmpdir(), 'gh-web-shots-'));

async function api(
  stack: Stack,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
) {
  const res = await fetch(`${stack.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> };
}

/** A message shown in #general (not the composer's own text). */
function shown(p: Page, text: string) {
  return p.getByRole('list', { name: 'Messages in #general' }).getByText(text, { exact: true });
}

function unreadOf(p: Page, channel: string) {
  return p
    .getByRole('navigation', { name: 'Conversations' })
    .getByRole('link', { name: new RegExp(`^#${channel}`) });
}

describe('web app: chat and billing in Chromium', { skip, timeout: 900_000 }, () => {
  let stack: Stack;
  let ada: PageWatch;
  let bob: PageWatch;
  const adaUser = { name: 'Ada Chat', email: uniqueEmail('ada-chat'), team: 'Engine Room' };
  const bobUser = { name: 'Bob Chat', email: uniqueEmail('bob-chat'), team: 'Bob Solo' };
  let teamId = '';

  before(
    async () => {
      stack = await startStack({ product: true });
      ada = await openPage(stack);
      bob = await openPage(stack);
      await signUpInUi(ada.page, adaUser);
      // Bob has an account of his own, is invited to Ada's team and accepts (through the API: the
      // pages for this are covered by the identity suite), then switches to it in his browser.
      const adaToken = (
        await api(stack, '/api/auth/login', {
          method: 'POST',
          body: { email: adaUser.email, password: PASSWORD },
        })
      ).body.accessToken as string;
      const me = (await api(stack, '/api/auth/me', { token: adaToken })).body as { tenantId: string };
      teamId = me.tenantId;
      const invited = await api(stack, `/api/auth/tenants/${me.tenantId}/invitations`, {
        method: 'POST',
        token: adaToken,
        body: { email: bobUser.email, role: 'member' },
      });
      assert.equal(invited.status, 201);
      const bobToken = (
        await api(stack, '/api/auth/register', {
          method: 'POST',
          body: { email: bobUser.email, password: PASSWORD, name: bobUser.name, tenantName: bobUser.team },
        })
      ).body.accessToken as string;
      const token = await stack.auth.mailedToken(bobUser.email, /invited/i);
      assert.equal(
        (
          await api(stack, '/api/auth/invitations/accept', {
            method: 'POST',
            token: bobToken,
            body: { token },
          })
        ).status,
        200,
      );
      await bob.page.goto('/team');
      await signInInUi(bob.page, bobUser.email);
      await bob.page.getByRole('button', { name: `Switch to ${adaUser.team}` }).click();
      await bob.page.getByRole('heading', { level: 1, name: `Team: ${adaUser.team}` }).waitFor();
    },
    { timeout: 600_000 },
  );
  after(async () => {
    await stack?.stop();
  });

  it('two people chat live, with the unread count moving in the list', async () => {
    await ada.page.goto('/chat');
    await ada.page.getByLabel('New channel').fill('general');
    await ada.page.getByRole('button', { name: 'Create channel' }).click();
    await ada.page.getByRole('heading', { level: 2, name: '#general' }).waitFor();
    await ada.page.getByLabel('New channel').fill('random');
    await ada.page.getByRole('button', { name: 'Create channel' }).click();
    await ada.page.getByRole('heading', { level: 2, name: '#random' }).waitFor();
    await ada.page.getByText('Connecting to live updates').waitFor({ state: 'detached' });

    await bob.page.goto('/chat');
    await bob.page.getByRole('button', { name: 'Browse public channels' }).click();
    await bob.page.getByRole('button', { name: 'Join #general' }).click();
    await bob.page.getByRole('heading', { level: 2, name: '#general' }).waitFor();
    await expectAccessible(bob.page, 'chat');

    // Keyboard only: from the message list to the box, type, Enter.
    await bob.page.getByRole('list', { name: 'Messages in #general' }).focus();
    await bob.page.keyboard.press('Tab');
    assert.equal(await bob.page.evaluate('document.activeElement.tagName'), 'TEXTAREA');
    await bob.page.keyboard.type('Hello from Bob');
    await bob.page.keyboard.press('Enter');
    await shown(bob.page, 'Hello from Bob').waitFor();

    // Ada is in #random: #general counts one unread, live.
    await unreadOf(ada.page, 'general').filter({ hasText: '1 unread' }).waitFor();
    await unreadOf(ada.page, 'general').click();
    await shown(ada.page, 'Hello from Bob').waitFor();
    await unreadOf(ada.page, 'general').filter({ hasNotText: 'unread' }).waitFor();

    // And back: Ada's answer reaches Bob's open conversation without a reload.
    await ada.page.getByLabel('Message #general').fill('Hi Bob, from Ada');
    await ada.page.getByLabel('Message #general').press('Enter');
    await shown(bob.page, 'Hi Bob, from Ada').waitFor();
    await screenshot(ada.page, 'chat', shots);
  });

  it('renders a hostile message as text', async () => {
    const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    await bob.page.getByLabel('Message #general').fill(payload);
    await bob.page.getByLabel('Message #general').press('Enter');
    await ada.page.getByText(payload, { exact: true }).waitFor();
    assert.equal(await ada.page.locator('.messages img').count(), 0);
    assert.equal(await ada.page.evaluate('window.__xss'), undefined);
  });

  it('reacts, edits, deletes and replies in a thread', async () => {
    const p = ada.page;
    const mine = p.getByRole('listitem').filter({ hasText: 'Hi Bob, from Ada' }).first();
    await mine.getByRole('button', { name: /^👍 \(react/ }).click();
    await bob.page
      .getByRole('button', { name: /^👍 1 \(react/ })
      .first()
      .waitFor();
    await mine.getByRole('button', { name: 'Edit' }).click();
    await p.getByLabel('Edit the message').fill('Hi Bob, from Ada (edited text)');
    await p.getByRole('button', { name: 'Save' }).click();
    await shown(bob.page, 'Hi Bob, from Ada (edited text)').waitFor();
    const bobs = p.getByRole('listitem').filter({ hasText: 'Hello from Bob' }).first();
    await bobs.getByRole('button', { name: 'Reply in thread' }).click();
    await p.getByLabel('Reply in the thread').fill('A reply in the thread');
    await p.getByLabel('Reply in the thread').press('Enter');
    await p.getByRole('complementary', { name: 'Thread' }).getByText('A reply in the thread').waitFor();
    const edited = p.getByRole('listitem').filter({ hasText: '(edited text)' }).first();
    await edited.getByRole('button', { name: 'Delete' }).click();
    await bob.page.getByText('This message was deleted.').waitFor();
  });

  it('finds messages by search', async () => {
    await bob.page.getByLabel('Search messages', { exact: true }).fill('Hello');
    await bob.page.getByRole('button', { name: 'Search', exact: true }).click();
    await bob.page.getByRole('list', { name: 'Search results' }).getByText('Hello from Bob').waitFor();
  });

  it('shows another team nothing of it', async () => {
    const carol = await openPage(stack);
    await signUpInUi(carol.page, { name: 'Carol Else', email: uniqueEmail('carol'), team: 'Elsewhere' });
    await carol.page.goto('/chat');
    await carol.page.getByText('No conversations yet').waitFor();
    await carol.page.getByRole('button', { name: 'Browse public channels' }).click();
    await carol.page.getByText('No other public channels.').waitFor();
    await carol.page.getByLabel('Search messages', { exact: true }).fill('Hello');
    await carol.page.getByRole('button', { name: 'Search', exact: true }).click();
    await carol.page.getByText('No messages match.').waitFor();
    // The conversation's own address, typed in: not there either.
    const general = new URL(ada.page.url()).pathname;
    await carol.page.goto(general);
    await carol.page.getByText('This conversation is not in your list.').waitFor();
    await carol.context.close();
  });

  it('catches up after the network dropped, with nothing missing or doubled', async () => {
    const general = new URL(ada.page.url()).pathname.split('/').at(-1) as string;
    const bobToken = (
      await api(stack, '/api/auth/login', {
        method: 'POST',
        body: { email: bobUser.email, password: PASSWORD },
      })
    ).body.accessToken as string;
    const switched = await api(stack, '/api/auth/switch-tenant', {
      method: 'POST',
      token: bobToken,
      body: { tenantId: teamId },
    });
    assert.equal(switched.status, 200);
    const bobInTeam = switched.body.accessToken as string;
    await ada.context.setOffline(true);
    await ada.page.getByText('You are offline.').waitFor();
    // Bob goes on writing meanwhile (through the API: his page is not what is tested here).
    for (const n of [1, 2, 3]) {
      const sent = await api(stack, `/api/chat/conversations/${general}/messages`, {
        method: 'POST',
        token: bobInTeam,
        body: { body: `While Ada was away ${n}` },
      });
      assert.equal(sent.status, 201);
    }
    await ada.context.setOffline(false);
    await ada.page.getByText('You are offline.').waitFor({ state: 'detached' });
    for (const n of [1, 2, 3]) {
      await shown(ada.page, `While Ada was away ${n}`).waitFor();
      assert.equal(await shown(ada.page, `While Ada was away ${n}`).count(), 1, `message ${n} once`);
    }
    // Live again afterwards.
    const live = await api(stack, `/api/chat/conversations/${general}/messages`, {
      method: 'POST',
      token: bobInTeam,
      body: { body: 'Back to live' },
    });
    assert.equal(live.status, 201);
    await shown(ada.page, 'Back to live').waitFor();
  });

  it('upgrades the plan and shows the new limits; a member sees them without the buttons', async () => {
    const p = ada.page;
    const catalogue = (await api(stack, '/api/billing/plans')).body as unknown as {
      plans: { id: string; name: string; entitlements: { seats: number; messageQuota: number | null } }[];
    };
    const limitText = (n: number | null) => (n === null ? 'unlimited' : n.toLocaleString('en'));
    const planOf = (id: string) => catalogue.plans.find((x) => x.id === id)!.entitlements;
    const seats = (plan: string) => new RegExp(`^${limitText(planOf(plan).seats)}$`);
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click();
    await p.getByTestId('current-plan').filter({ hasText: 'Free' }).waitFor();
    await p
      .getByTestId('seats')
      .filter({ hasText: seats('free') })
      .waitFor();
    await p
      .getByTestId('usage')
      .filter({ hasText: new RegExp(` of ${limitText(planOf('free').messageQuota)}$`) })
      .waitFor();
    // Every plan's seats and messages as billing's catalogue has them (the free plan's included).
    const table = p.getByRole('table', { name: 'Plans' });
    for (const plan of catalogue.plans) {
      const cells = table
        .getByRole('row')
        .filter({ has: p.getByRole('cell', { name: plan.name, exact: true }) })
        .getByRole('cell');
      assert.equal(await cells.nth(2).textContent(), limitText(plan.entitlements.seats), `${plan.id} seats`);
      assert.equal(
        await cells.nth(3).textContent(),
        limitText(plan.entitlements.messageQuota),
        `${plan.id} messages per period`,
      );
    }
    await expectAccessible(p, 'billing (owner)');
    await p.getByRole('button', { name: 'Switch to Standard' }).click();
    await p.getByText("Your team's plan is now set to Standard.").waitFor();
    await p.getByTestId('current-plan').filter({ hasText: 'Standard' }).waitFor();
    await p
      .getByTestId('seats')
      .filter({ hasText: seats('standard') })
      .waitFor();
    await p.getByRole('cell', { name: 'standard', exact: true }).first().waitFor();
    await screenshot(p, 'billing', shots);

    await bob.page.goto('/billing');
    await bob.page.getByTestId('current-plan').filter({ hasText: 'Standard' }).waitFor();
    await bob.page.getByText('Only an owner or admin of the team can change the plan.').waitFor();
    assert.equal(await bob.page.getByRole('button', { name: /^Switch to / }).count(), 0);
    await expectAccessible(bob.page, 'billing (member)');
  });

  it('met no CSP violation and no script error on the way', async () => {
    for (const w of [ada, bob]) {
      assert.deepEqual(await w.cspViolations(), []);
      assert.deepEqual(
        w.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|WebSocket/.test(e)),
        [],
      );
    }
  });
});
