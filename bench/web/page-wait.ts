import type { Page } from 'playwright-core';

/**
 * Polls `expression` in the page until it is truthy. Not `page.waitForFunction`:
 * that evaluates a string predicate with `eval` inside the page, which the app's
 * CSP (no 'unsafe-eval') refuses; `page.evaluate` runs through the automation
 * channel, outside the page's CSP. The figures are stamped in the page, so the
 * poll's interval does not enter them.
 */
export async function waitInPage(page: Page, expression: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting in the page for ${expression}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
