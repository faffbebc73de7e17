import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CheckResult {
  readonly ok: boolean;
  /** ok but running in a reduced mode (e.g. a local rate limiter while Redis is down). */
  readonly degraded?: boolean;
  readonly detail?: string;
}

export type Check = () => Promise<CheckResult | boolean> | CheckResult | boolean;

export interface CheckOptions {
  /** How long the check may take before it counts as failed. Capped so /ready answers in under 2 s. */
  readonly timeoutMs?: number;
  /** A failing critical check makes the process not ready; a non-critical one only degrades it. */
  readonly critical?: boolean;
}

export type ReadinessStatus = 'ready' | 'degraded' | 'not_ready' | 'shutting_down';

export interface ReadinessReport {
  readonly status: ReadinessStatus;
  readonly checks: Record<string, CheckResult & { readonly critical: boolean; readonly ms: number }>;
}

const MAX_CHECK_MS = 1500;

/** Readiness from registered checks, each bounded by its own timeout, run in parallel. */
export class Readiness {
  readonly #checks = new Map<string, { check: Check; timeoutMs: number; critical: boolean }>();
  #shuttingDown = false;

  register(name: string, check: Check, options: CheckOptions = {}): void {
    this.#checks.set(name, {
      check,
      timeoutMs: Math.min(options.timeoutMs ?? 1000, MAX_CHECK_MS),
      critical: options.critical ?? true,
    });
  }

  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  async evaluate(): Promise<ReadinessReport> {
    const entries = [...this.#checks.entries()];
    const results = await Promise.all(
      entries.map(async ([name, { check, timeoutMs, critical }]) => {
        const started = performance.now();
        const result = await runWithTimeout(check, timeoutMs);
        return [name, { ...result, critical, ms: Math.round(performance.now() - started) }] as const;
      }),
    );
    const checks = Object.fromEntries(results);
    let status: ReadinessStatus = 'ready';
    if (this.#shuttingDown) status = 'shutting_down';
    else if (results.some(([, r]) => !r.ok && r.critical)) status = 'not_ready';
    else if (results.some(([, r]) => !r.ok || r.degraded === true)) status = 'degraded';
    return { status, checks };
  }
}

async function runWithTimeout(check: Check, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `timed out after ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(check), timeout]);
    return typeof outcome === 'boolean' ? { ok: outcome } : outcome;
  } catch (err) {
    // A check may reject with anything (`null`, a string): report it, never throw.
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export function readinessHttpStatus(status: ReadinessStatus): number {
  return status === 'ready' || status === 'degraded' ? 200 : 503;
}

/**
 * Answers `/live` and `/ready` on a node:http server. Returns false when the
 * request is for neither, so the caller goes on. The public answer says only
 * the status; the detail (which checks) is for the admin listener.
 */
export function handleProbe(
  readiness: Readiness,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  options: { detail?: boolean } = {},
): boolean {
  if (path !== '/live' && path !== '/ready') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (path === '/live') {
    writeJson(res, 200, { status: 'live' });
    return true;
  }
  readiness.evaluate().then(
    (report) =>
      writeJson(res, readinessHttpStatus(report.status), options.detail ? report : { status: report.status }),
    () => writeJson(res, 503, { status: 'not_ready' }),
  );
  return true;
}

export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}
