import { api, refresh } from './session.ts';

/**
 * The one WebSocket of the app, to the chat service through the gateway. A
 * browser cannot put a token on a WebSocket, so each connection first mints
 * a single-use ticket (`POST /api/ws-ticket` with the token) and opens
 * `/api/chat/ws?ticket=…` within its 30 s. When the socket drops it
 * reconnects with exponential back-off and jitter (at once when the browser
 * says it is online again), and tells its listeners, who catch up by cursor:
 * nothing missed, nothing doubled (messages are kept by id).
 */

export type RealtimeStatus = 'connecting' | 'online' | 'offline';

export interface RealtimeEvent {
  readonly type: string;
  readonly conversationId?: string;
  readonly [key: string]: unknown;
}

type Listener = {
  event?: (event: RealtimeEvent) => void;
  status?: (status: RealtimeStatus) => void;
  /** The socket is open again after a drop: fetch what changed meanwhile. */
  reconnected?: () => void;
};

const TOKEN_EXPIRED = 4401;
const MAX_BACKOFF_MS = 30_000;

let socket: WebSocket | undefined;
let status: RealtimeStatus = 'offline';
let wanted = false;
let attempt = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<Listener>();

function setStatus(next: RealtimeStatus): void {
  if (status === next) return;
  status = next;
  for (const l of listeners) l.status?.(next);
}

export function realtimeStatus(): RealtimeStatus {
  return status;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Sends a frame (typing, read) when connected; dropped otherwise (they are hints, not data). */
export function sendFrame(frame: Record<string, unknown>): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

export function start(): void {
  if (wanted) return;
  wanted = true;
  attempt = 0;
  window.addEventListener('online', retryNow);
  window.addEventListener('offline', dropNow);
  void connect();
}

/** The browser knows the network is gone: say so now rather than when a ping times out. */
function dropNow(): void {
  const s = socket;
  socket = undefined;
  s?.close(4000, 'offline');
  clearTimeout(retryTimer);
  scheduleRetry();
}

export function stop(): void {
  wanted = false;
  clearTimeout(retryTimer);
  window.removeEventListener('online', retryNow);
  window.removeEventListener('offline', dropNow);
  const s = socket;
  socket = undefined;
  s?.close(1000, 'signed out');
  setStatus('offline');
}

function retryNow(): void {
  if (!wanted || socket !== undefined) return;
  clearTimeout(retryTimer);
  attempt = 0;
  void connect();
}

function scheduleRetry(): void {
  if (!wanted) return;
  setStatus('offline');
  const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
  attempt++;
  // Full jitter: a thousand clients dropped at once do not come back at once.
  retryTimer = setTimeout(() => void connect(), base / 2 + Math.random() * (base / 2));
}

async function connect(): Promise<void> {
  if (!wanted) return;
  setStatus('connecting');
  let ticket: string;
  try {
    ticket = (await api<{ ticket: string }>('/api/ws-ticket', { method: 'POST' })).ticket;
  } catch {
    scheduleRetry();
    return;
  }
  if (!wanted) return;
  const url = new URL(`/api/chat/ws?ticket=${encodeURIComponent(ticket)}`, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  socket = ws;
  ws.onmessage = (message) => {
    let event: RealtimeEvent;
    try {
      event = JSON.parse(String(message.data)) as RealtimeEvent;
    } catch {
      return;
    }
    if (event.type === 'ready') {
      attempt = 0;
      setStatus('online');
      // Every (re)open: whatever happened while the socket was not there is fetched by cursor.
      for (const l of listeners) l.reconnected?.();
      return;
    }
    if (event.type === 'resync') {
      for (const l of listeners) l.reconnected?.();
      return;
    }
    for (const l of listeners) l.event?.(event);
  };
  ws.onclose = (close) => {
    if (socket !== ws) return;
    socket = undefined;
    if (!wanted) return;
    if (close.code === TOKEN_EXPIRED) {
      // The token ran out or was revoked: a fresh one (or the end of the session), then at once again.
      setStatus('connecting');
      void refresh().then(
        (ok) => (ok ? void connect() : stop()),
        () => scheduleRetry(),
      );
      return;
    }
    scheduleRetry();
  };
}
