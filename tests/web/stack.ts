import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  baseEnv,
  NODE,
  ROOT,
  type RunningAuth,
  type RunningGateway,
  startAuthProcess,
  startGatewayProcess,
} from '../auth/process.ts';

/**
 * The platform as a browser sees it: the identity service, the web app's
 * server and the gateway in front, each a real process on a free port, and
 * the system Chromium driven by playwright-core (never a downloaded browser).
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser suites cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `SKIPPED (Chromium not installed): ${CHROMIUM} is missing; apt-get install chromium (.ci/run does)`;
  process.stdout.write(
    `\n${'!'.repeat(reason.length + 4)}\n! ${reason} !\n${'!'.repeat(reason.length + 4)}\n\n`,
  );
  return reason;
}

export const SCREENSHOT_DIR = join(ROOT, 'docs', 'web');

export interface Stack {
  readonly url: string;
  readonly auth: RunningAuth;
  readonly gateway: RunningGateway;
  readonly web: ChildProcess;
  readonly browser: Browser;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** A service's main.ts on port 0; resolves with its address once it logs `<name>: listening`. */
async function startService(
  name: string,
  env: Record<string, string>,
): Promise<{ name: string; child: ChildProcess; url: string }> {
  const child = spawn(NODE, [join(ROOT, `packages/${name}/src/main.ts`)], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    // The web app's first start on a fresh clone builds it; a loaded machine is slow to start PGlite.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start in 120 s`));
    }, 120_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      if (!text.includes(`"${name}: listening"`)) return;
      const line = /"url":"(http:\/\/[^"]+)"/.exec(text);
      if (line !== null) {
        clearTimeout(timer);
        resolve(line[1] as string);
      }
    });
  });
  return { name, child, url };
}

export interface StackOptions {
  /** Environment for the identity service (token lifetime …). */
  readonly authEnv?: Record<string, string>;
  /** Start the chat and billing services too. */
  readonly product?: boolean;
  /** The gateway's leeway past a token's `exp` (30 s in config/gateway.yaml). */
  readonly clockToleranceSeconds?: number;
  /**
   * Redis for chat and billing, as in a deployment: billing's entitlement records then reach
   * chat (without it chat applies the free plan's send limit to every tenant).
   */
  readonly redisUrl?: string;
}

/** Sets the gateway's token clock leeway in its YAML; fails loudly if the `auth:` block moved. */
function withClockTolerance(yaml: string, seconds: number | undefined): string {
  if (seconds === undefined) return yaml;
  if (!/^auth:\n/m.test(yaml)) throw new Error('config/gateway.yaml has no top-level auth: block');
  return yaml.replace(/^auth:\n/m, `auth:\n  clockToleranceSeconds: ${seconds}\n`);
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { chromium } = await import('playwright-core');
  const gatewayPort = await freePort();
  const origin = `http://127.0.0.1:${gatewayPort}`;
  const env: Record<string, string> = {
    ...baseEnv(),
    // The refresh cookie as in production (`__Host-`, Secure): Chromium takes Secure cookies from
    // http://127.0.0.1, a potentially trustworthy origin, so no development switch is needed.
    AUTH_ALLOWED_ORIGINS: origin,
    AUTH_PUBLIC_URL: origin,
    AUTH_TRUSTED_PROXIES: '127.0.0.1/32',
    ...options.authEnv,
  };
  const productEnv: Record<string, string> = {
    GATEWAY_ASSERTION_SECRET: env.GATEWAY_ASSERTION_SECRET as string,
    ...(options.redisUrl === undefined ? {} : { REDIS_URL: options.redisUrl }),
  };
  // The identity service first, alone: PGlite's start is CPU-bound, and on a loaded machine four
  // at once can take minutes. Then the others together.
  const auth = await startAuthProcess(env);
  const starts = [startService('web', { WEB_PORT: '0' })];
  if (options.product === true) {
    starts.push(
      startService('chat', {
        ...productEnv,
        CHAT_PORT: '0',
        CHAT_DB_MEMORY: 'true',
        CHAT_PUBLIC_URL: origin,
      }),
      startService('billing', {
        ...productEnv,
        BILLING_PORT: '0',
        BILLING_DB_MEMORY: 'true',
        BILLING_PUBLIC_URL: origin,
      }),
    );
  }
  const serviceResults = await Promise.allSettled(starts);
  const failed = serviceResults.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    await auth.stop();
    for (const r of serviceResults) if (r.status === 'fulfilled') r.value.child.kill('SIGKILL');
    throw (failed as PromiseRejectedResult).reason;
  }
  const running = serviceResults.map(
    (r) => (r as PromiseFulfilledResult<{ name: string; child: ChildProcess; url: string }>).value,
  );
  const web = running.find((r) => r.name === 'web')!;
  const upstreamUrl = (name: string, fallback: string) =>
    running.find((r) => r.name === name)?.url ?? fallback;
  const gateway = await startGatewayProcess(auth.url, env, {}, (config) =>
    withClockTolerance(config, options.clockToleranceSeconds)
      .replace('listen: { host: 127.0.0.1, port: 0 }', `listen: { host: 127.0.0.1, port: ${gatewayPort} }`)
      .replaceAll('http://127.0.0.1:4000', web.url)
      .replaceAll('http://127.0.0.1:4002', upstreamUrl('chat', 'http://127.0.0.1:4002'))
      .replaceAll('http://127.0.0.1:4003', upstreamUrl('billing', 'http://127.0.0.1:4003'))
      .replace(/cors:\n {2}origins: \[[^\]]*\]/, `cors:\n  origins: [${origin}]`)
      // Many sign-ups and sign-ins from one address in a few seconds.
      .replaceAll(
        /rateLimit: \{ limit: \d+, windowSeconds: 60 \}/g,
        'rateLimit: { limit: 10000, windowSeconds: 60 }',
      )
      .replace(/anonymous: \{ limit: \d+/, 'anonymous: { limit: 100000'),
  );
  const launched = chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // A fresh temporary profile per launch (Playwright's own user-data-dir); no network of Chromium's own.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  let browser: Browser;
  try {
    browser = await launched;
  } catch (err) {
    await gateway.stop();
    for (const r of running) r.child.kill('SIGKILL');
    await auth.stop();
    throw err;
  }
  return {
    url: gateway.url,
    auth,
    gateway,
    web: web.child,
    browser,
    async stop() {
      await browser.close().catch(() => undefined);
      await gateway.stop();
      for (const r of running) {
        if (r.child.exitCode !== null) continue;
        r.child.kill('SIGTERM');
        await once(r.child, 'exit');
      }
      await auth.stop();
    },
  };
}

export interface PageWatch {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Content-Security-Policy violations the page reported. */
  cspViolations(): Promise<string[]>;
  /** Console errors and uncaught exceptions. */
  readonly errors: string[];
}

/** A new browser context (its own cookie jar: one person) and page, watched for CSP violations and errors. */
export async function openPage(stack: Stack): Promise<PageWatch> {
  const context = await stack.browser.newContext({ baseURL: stack.url });
  // Injected by the browser's automation channel, not by the page: the CSP does not apply to it.
  await context.addInitScript({
    content: `window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__csp.push(e.violatedDirective + ': ' + e.blockedURI);
      });`,
  });
  // The machine may be shared and loaded: wait longer than Playwright's 30 s before calling it a failure.
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    // A failed call's 4xx is logged by the browser as a console error; the app shows it to the person.
    if (
      m.type() === 'error' &&
      !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())
    )
      errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => void d.accept());
  return {
    context,
    page,
    errors,
    cspViolations: () => page.evaluate<string[]>('window.__csp'),
  };
}

const AXE_SOURCE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: number;
}

/** axe-core run in the page (through the automation channel, so the page's CSP is not loosened). */
export async function axeSeriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate<AxeViolation[]>(`axe.run().then((r) => r.violations.map((v) => ({
    id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.length,
  })))`);
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * A screenshot of the page: into docs/web/ when UPDATE_SCREENSHOTS=1 (the
 * committed pictures in docs/web.md), else into a temporary folder, so a test
 * run leaves the working tree as it was.
 */
export async function screenshot(page: Page, name: string, dir: string): Promise<Buffer> {
  const target = process.env.UPDATE_SCREENSHOTS === '1' ? SCREENSHOT_DIR : dir;
  mkdirSync(target, { recursive: true });
  return page.screenshot({ path: join(target, `${name}.png`), fullPage: true });
}

let counter = 0;
/** A unique address per test run (the identity service keeps every account). */
export function uniqueEmail(who: string): string {
  return `${who}.${process.pid}.${Date.now().toString(36)}${++counter}@example.com`;
}

export const PASSWORD = 'lantern quarry violet marmalade 77';
