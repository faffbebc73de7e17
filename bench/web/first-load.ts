import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openPage, PASSWORD, startStack, uniqueEmail } from '../../tests/web/stack.ts';
import { signInInUi } from '../../tests/web/ui.ts';

/**
 * `node bench/web/first-load.ts [messages]`: the web app in the system
 * Chromium through the real gateway, as the browser suites run it.
 * - JavaScript of the chat page: bytes on disk and gzip -9 (the target: ≤ 200 KB gzip), and
 *   what the browser actually transferred (the server picks brotli when offered);
 * - first load of the chat page, signed in (a warm cookie, a cold cache): time from navigation
 *   until the conversation list shows (target ≤ 1 s), median of 5 fresh contexts;
 * - send → screen: one browser sends, another shows it; both pages stamp Date.now() (one clock),
 *   p50/p99 over N messages (target p99 ≤ 100 ms).
 * Absolute figures depend on the machine's load: run it alone.
 */

const N = Number(process.argv[2] ?? 50);
const dist = join(import.meta.dirname, '..', '..', 'packages', 'web', 'dist', 'assets');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const stack = await startStack({ product: true });
try {
  const email = uniqueEmail('bench');
  const reg = await fetch(`${stack.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, name: 'Bench', tenantName: 'Bench' }),
  });
  const token = ((await reg.json()) as { accessToken: string }).accessToken;
  const created = await fetch(`${stack.url}/api/chat/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ kind: 'public', name: 'bench' }),
  });
  const channel = ((await created.json()) as { id: string }).id;

  let jsRaw = 0;
  let jsGzip = 0;
  for (const f of readdirSync(dist).filter((f) => f.endsWith('.js'))) {
    const b = readFileSync(join(dist, f));
    jsRaw += b.length;
    jsGzip += gzipSync(b, { level: 9 }).length;
  }

  const loads: number[] = [];
  let transferred = 0;
  for (let i = 0; i < 5; i++) {
    const w = await openPage(stack);
    await w.page.goto('/sign-in');
    await signInInUi(w.page, email);
    await w.page.getByRole('heading', { level: 1, name: 'Welcome, Bench' }).waitFor();
    const fresh = await stack.browser.newContext({
      baseURL: stack.url,
      storageState: await w.context.storageState(),
    });
    const p = await fresh.newPage();
    let js = 0;
    p.on('response', async (r) => {
      if (r.url().endsWith('.js')) js += Number((await r.headerValue('content-length')) ?? 0);
    });
    const t0 = Date.now();
    await p.goto('/chat');
    await p
      .getByRole('navigation', { name: 'Conversations' })
      .getByRole('link', { name: '#bench' })
      .waitFor();
    loads.push(Date.now() - t0);
    transferred = js;
    await fresh.close();
    await w.context.close();
  }
  loads.sort((a, b) => a - b);

  const sender = await openPage(stack);
  const receiver = await openPage(stack);
  for (const w of [sender, receiver]) {
    await w.page.goto(`/chat/${channel}`);
    await signInInUi(w.page, email);
    await w.page.getByRole('heading', { level: 2, name: '#bench' }).waitFor();
    await w.page.getByText('Connecting to live updates').waitFor({ state: 'detached' });
  }
  await receiver.page.evaluate(`window.__seen = {};
    new MutationObserver(() => {
      for (const p of document.querySelectorAll('.messages .body')) {
        const m = /^bench-(\\d+)$/.exec(p.textContent);
        if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = Date.now();
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });`);
  const box = sender.page.getByLabel('Message #bench');
  const latencies: number[] = [];
  for (let i = 0; i < N; i++) {
    await box.fill(`bench-${i}`);
    const sent = await sender.page.evaluate(`(() => { const t = Date.now();
      document.querySelector('.composer textarea').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
      return t; })()`);
    await receiver.page.waitForFunction(`window.__seen[${i}] !== undefined`, undefined, { polling: 5 });
    const seen = (await receiver.page.evaluate(`window.__seen[${i}]`)) as number;
    latencies.push(seen - (sent as number));
  }
  latencies.sort((a, b) => a - b);

  const out = {
    javascript: {
      files: 'packages/web/dist/assets/*.js',
      bytes: jsRaw,
      gzip9: jsGzip,
      transferredByChromium: transferred,
    },
    firstLoadMs: { median: percentile(loads, 50), all: loads },
    sendToScreenMs: {
      n: N,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1),
    },
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  await stack.stop();
}
