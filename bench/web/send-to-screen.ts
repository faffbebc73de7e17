import type { Page } from 'playwright-core';
import type { Stack } from '../../tests/web/stack.ts';
import { waitInPage } from './page-wait.ts';
import { type BenchTeam, type Person, sessionCookie } from './team.ts';

/**
 * Send → the other person's screen: the owner types a message and presses
 * Enter in one browser context, the member has the channel open in another.
 * Both pages stamp the wall clock (`performance.timeOrigin + now()`, one
 * machine, one clock): the sender at the Enter key (before the app sees it),
 * the receiver when the message's text is in its DOM. One message at a time,
 * the next after the last one showed.
 */

export interface SendToScreen {
  /** Send → the receiver's DOM, ms, per measured message in order. */
  readonly latenciesMs: readonly number[];
  /** The sender's POST of each measured message (Resource Timing duration; history reads have a query), ms. */
  readonly postMs: readonly number[];
  readonly warmup: number;
}

const PREFIX = 'bench-';

const SENDER = `(() => {
  performance.setResourceTimingBufferSize(10000);
  window.__sent = {};
  document.addEventListener('keydown', (e) => {
    const box = e.target;
    if (e.key === 'Enter' && !e.shiftKey && box instanceof HTMLTextAreaElement && box.value.startsWith('${PREFIX}'))
      window.__sent[box.value] = performance.timeOrigin + performance.now();
  }, true);
})();`;

const RECEIVER = `(() => {
  window.__seen = {};
  const look = (node) => {
    if (!(node instanceof Element)) return;
    const bodies = node.matches('.messages .body') ? [node] : node.querySelectorAll('.messages .body');
    for (const body of bodies) {
      const text = body.textContent;
      if (text.startsWith('${PREFIX}') && !(text in window.__seen))
        window.__seen[text] = performance.timeOrigin + performance.now();
    }
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) look(n);
  }).observe(document, { subtree: true, childList: true });
})();`;

async function openChannel(stack: Stack, team: BenchTeam, who: Person, script: string): Promise<Page> {
  const context = await stack.browser.newContext({ baseURL: stack.url });
  await context.addCookies([await sessionCookie(stack, who, team.tenantId)]);
  await context.addInitScript({ content: script });
  const page = await context.newPage();
  await page.goto(`/chat/${team.channelId}`);
  await page.getByRole('heading', { level: 2, name: `#${team.channelName}` }).waitFor({ timeout: 60_000 });
  await page.getByText('Connecting to live updates').waitFor({ state: 'detached', timeout: 60_000 });
  return page;
}

export async function measureSendToScreen(
  stack: Stack,
  team: BenchTeam,
  messages: number,
  warmup: number,
): Promise<SendToScreen> {
  const sender = await openChannel(stack, team, team.owner, SENDER);
  const receiver = await openChannel(stack, team, team.member, RECEIVER);
  try {
    const box = sender.getByLabel(`Message #${team.channelName}`);
    const texts: string[] = [];
    for (let i = 0; i < warmup + messages; i++) {
      const text = `${PREFIX}${i}`;
      texts.push(text);
      await box.fill(text);
      await box.press('Enter');
      await waitInPage(receiver, `window.__seen[${JSON.stringify(text)}] !== undefined`);
    }
    const sent = (await sender.evaluate('window.__sent')) as Record<string, number>;
    const seen = (await receiver.evaluate('window.__seen')) as Record<string, number>;
    const posts = (await sender.evaluate(`performance.getEntriesByType('resource')
      .filter((e) => e.initiatorType === 'fetch' && new URL(e.name).pathname.endsWith('/conversations/${team.channelId}/messages')
        && new URL(e.name).search === '')
      .map((e) => e.duration)`)) as number[];
    if (posts.length !== texts.length)
      throw new Error(`${posts.length} message POSTs in the sender's timeline for ${texts.length} messages`);
    const latenciesMs = texts.slice(warmup).map((text) => {
      const from = sent[text];
      const to = seen[text];
      if (from === undefined || to === undefined) throw new Error(`${text}: sent ${from}, seen ${to}`);
      return to - from;
    });
    return { latenciesMs, postMs: posts.slice(warmup), warmup };
  } finally {
    await sender.context().close();
    await receiver.context().close();
  }
}
