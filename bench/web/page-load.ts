import { request } from 'node:http';
import type { Page } from 'playwright-core';
import type { Stack } from '../../tests/web/stack.ts';
import { waitInPage } from './page-wait.ts';
import { type BenchTeam, sessionCookie } from './team.ts';

/**
 * First load of the chat page in Chromium, through the gateway, for a person
 * who signed in earlier (the refresh cookie is in the browser, nothing else):
 * a fresh browser context each time, so the HTTP cache is cold. Timed inside
 * the page from the navigation's start (`performance.now()`), until the
 * conversation list holds the team's channel; then a reload in the same
 * context (hashed assets from the cache) for the warm figure.
 */

export interface ScriptTransfer {
  readonly path: string;
  /** Bytes over the wire with headers (Resource Timing `transferSize`). */
  readonly transferSize: number;
  /** The body as sent: brotli when the browser offers it (`encodedBodySize`). */
  readonly encodedBodySize: number;
  readonly decodedBodySize: number;
}

export interface LoadSample {
  /** Navigation start → the channel in the conversation list (in the DOM). */
  readonly listShownMs: number;
  /** Navigation start → the HTML received. */
  readonly htmlReceivedMs: number;
  /** Navigation start → DOMContentLoaded done (the module script ran). */
  readonly domContentLoadedMs: number;
  readonly scripts: readonly ScriptTransfer[];
}

export interface FirstLoad {
  readonly cold: readonly LoadSample[];
  readonly warm: readonly LoadSample[];
}

/** Runs in every document of the context before the app: marks when the channel shows in the list. */
const instrument = (channelName: string) => `(() => {
  performance.setResourceTimingBufferSize(10000);
  const observer = new MutationObserver(() => {
    const nav = document.querySelector('nav[aria-label="Conversations"]');
    if (nav === null) return;
    for (const a of nav.querySelectorAll('a')) {
      if (a.textContent.startsWith(${JSON.stringify(`#${channelName}`)})) {
        window.__listShownAt = performance.now();
        observer.disconnect();
        return;
      }
    }
  });
  observer.observe(document, { subtree: true, childList: true, characterData: true });
})();`;

const SAMPLE = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const scripts = performance.getEntriesByType('resource')
    .filter((e) => new URL(e.name).pathname.endsWith('.js'))
    .map((e) => ({ path: new URL(e.name).pathname, transferSize: e.transferSize,
      encodedBodySize: e.encodedBodySize, decodedBodySize: e.decodedBodySize }));
  return { listShownMs: window.__listShownAt, htmlReceivedMs: nav.responseEnd,
    domContentLoadedMs: nav.domContentLoadedEventEnd, scripts };
})()`;

async function sample(page: Page): Promise<LoadSample> {
  await waitInPage(page, 'window.__listShownAt !== undefined');
  return (await page.evaluate(SAMPLE)) as LoadSample;
}

export async function measureFirstLoad(stack: Stack, team: BenchTeam, runs: number): Promise<FirstLoad> {
  const cold: LoadSample[] = [];
  const warm: LoadSample[] = [];
  for (let i = 0; i < runs; i++) {
    const context = await stack.browser.newContext({ baseURL: stack.url });
    try {
      await context.addCookies([await sessionCookie(stack, team.owner, team.tenantId)]);
      await context.addInitScript({ content: instrument(team.channelName) });
      const page = await context.newPage();
      await page.goto('/chat', { waitUntil: 'commit' });
      cold.push(await sample(page));
      await page.reload({ waitUntil: 'commit' });
      warm.push(await sample(page));
    } finally {
      await context.close();
    }
  }
  return { cold, warm };
}

/** The compressed size of `path` as the gateway serves it to a client that offers only gzip. */
export function servedGzipBytes(stack: Stack, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${stack.url}${path}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode}`));
        else if (res.headers['content-encoding'] !== 'gzip')
          reject(new Error(`${path}: served as ${res.headers['content-encoding'] ?? 'identity'}, not gzip`));
        else resolve(bytes);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
