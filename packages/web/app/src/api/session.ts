import { ApiError } from './problem.ts';

/**
 * The access token lives in this module's memory only: never in
 * localStorage, sessionStorage or a cookie, so a script injected into the page
 * later cannot find it there, and it is gone when the tab closes. The refresh
 * token is the identity service's HttpOnly `__Host-` cookie, which this code
 * never sees; `POST /api/auth/refresh` with that cookie (same origin) gives a
 * new pair. The refresh runs ahead of expiry and, once, on a 401.
 */

export interface TokenPair {
  readonly accessToken: string;
  readonly expiresIn: number;
}

export type SessionEvent =
  | { readonly type: 'signed-in' }
  | { readonly type: 'refreshed' }
  | { readonly type: 'signed-out'; readonly reason: 'ended' | 'user' };

let accessToken: string | undefined;
let expiresAt = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | undefined;
const listeners = new Set<(event: SessionEvent) => void>();

export function onSessionEvent(listener: (event: SessionEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(event: SessionEvent): void {
  for (const listener of listeners) listener(event);
}

export function hasToken(): boolean {
  return accessToken !== undefined;
}

/** The token, for the WebSocket ticket request; undefined when signed out. */
export function currentToken(): string | undefined {
  return accessToken;
}

/** Refresh this long before expiry: a fifth of the lifetime, at most a minute. */
function leadMs(lifetimeMs: number): number {
  return Math.min(60_000, lifetimeMs / 5);
}

export function setTokens(pair: TokenPair, event: SessionEvent = { type: 'signed-in' }): void {
  accessToken = pair.accessToken;
  const lifetime = pair.expiresIn * 1000;
  expiresAt = Date.now() + lifetime;
  clearTimeout(timer);
  timer = setTimeout(
    () => {
      // A failure here is handled like any other: the next call's 401 tries again.
      void refresh().catch(() => undefined);
    },
    Math.max(1_000, expiresAt - Date.now() - leadMs(lifetime)),
  );
  emit(event);
}

export function clearTokens(reason: 'ended' | 'user'): void {
  const had = accessToken !== undefined;
  accessToken = undefined;
  expiresAt = 0;
  clearTimeout(timer);
  if (had) emit({ type: 'signed-out', reason });
}

/**
 * One refresh at a time: concurrent 401s share it (a second rotation of the
 * same cookie would look like token theft to the identity service).
 * Resolves false when the session is over (the cookie is missing, expired or
 * revoked); rejects when the server cannot be reached (the session may be
 * fine: the caller keeps its token and tries again later).
 */
export function refresh(): Promise<boolean> {
  refreshing ??= refreshOnce().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

async function refreshOnce(): Promise<boolean> {
  let res: Response;
  try {
    res = await fetch('/api/auth/refresh', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
  } catch {
    throw ApiError.network();
  }
  if (res.ok) {
    setTokens((await res.json()) as TokenPair, { type: 'refreshed' });
    return true;
  }
  if (res.status === 401 || res.status === 403 || res.status === 400) {
    clearTokens('ended');
    return false;
  }
  throw await ApiError.from(res);
}

/** At page load: is there a session behind the cookie? */
export async function resume(): Promise<boolean> {
  try {
    return await refresh();
  } catch {
    return false;
  }
}

export interface CallOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/**
 * Calls the API through the gateway with the access token. A 401 on a call
 * made with a token means it expired or was revoked: refresh once and repeat;
 * if the session is over, every listener hears `signed-out` and the call
 * fails with the 401's sentence.
 */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const first = await send(path, options);
  if (first.status === 401 && accessToken !== undefined) {
    if (await refresh()) return parse<T>(await send(path, options));
  }
  return parse<T>(first);
}

async function send(path: string, options: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw ApiError.network();
  }
}

async function parse<T>(res: Response): Promise<T> {
  if (!res.ok) throw await ApiError.from(res);
  if (res.status === 204 || res.status === 202) return undefined as T;
  const text = await res.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}
