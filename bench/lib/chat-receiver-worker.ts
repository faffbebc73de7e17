import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket, { type RawData } from 'ws';
import { CHAT_WS_PATH } from '../../packages/kit/src/contracts/chat-events.ts';
import { accessFrom, TICKET_PATH } from './chat-access.ts';
import type { ConnectOutcome, FromWorker, ReceiverData, ReceiverResult, ToWorker } from './chat-receivers.ts';
import { monotonicMs } from './clock.ts';
import { LatencyHistogram } from './histogram.ts';
import { httpJson, keepAliveAgent } from './http-call.ts';
import { inPool } from './pool.ts';

/** One worker thread of the chat bench's clients (see chat-receivers.ts). */
const data = workerData as ReceiverData;
const port = parentPort;
if (port === null) throw new Error('chat-receiver-worker.ts runs as a worker thread');
const access = accessFrom(data.access);
const agent = keepAliveAgent(data.connectConcurrency);
const bytesPerClient = Math.ceil(data.perChannel / 8);
const bits = new Uint8Array(data.clients.length * bytesPerClient);
const open = new Uint8Array(data.clients.length);
const sockets: (WebSocket | undefined)[] = new Array(data.clients.length);
const histogram = new LatencyHistogram();
const closes: Record<string, number> = {};
const marker = `"body":"bench:${data.tag}:`;
let max = 0;
let delivered = 0;
let duplicates = 0;
let foreign = 0;
let closing = false;
let progress: NodeJS.Timeout | undefined;
let loopAtStart: ReturnType<typeof performance.eventLoopUtilization> | undefined;

const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

/** A bench message's body is `bench:<tag>:<n>:<due ms>`; anything else on the socket is ignored. */
function onMessage(i: number, raw: RawData): void {
  const now = monotonicMs();
  const text = raw.toString();
  const at = text.indexOf(marker);
  if (at < 0) return;
  const start = at + marker.length;
  const colon = text.indexOf(':', start);
  const n = Number(text.slice(start, colon));
  const due = Number(text.slice(colon + 1, text.indexOf('"', colon)));
  const channel = (data.clients[i] as { channel: number }).channel;
  if (n % data.channels !== channel) {
    foreign++;
    return;
  }
  const k = Math.floor(n / data.channels);
  const byte = i * bytesPerClient + (k >> 3);
  const bit = 1 << (k & 7);
  if (((bits[byte] as number) & bit) !== 0) {
    duplicates++;
    return;
  }
  bits[byte] = (bits[byte] as number) | bit;
  delivered++;
  const ms = now - due;
  histogram.record(ms);
  if (ms > max) max = ms;
}

async function socketUrl(i: number): Promise<{ url: string; headers: Record<string, string> }> {
  const client = data.clients[i] as ReceiverData['clients'][number];
  const origin = access.origin(client.origin);
  const base = `${origin.replace(/^http/, 'ws')}${CHAT_WS_PATH}`;
  if (access.spec.mode === 'gateway' && access.spec.wsAuth === 'ticket') {
    const { ticket } = await httpJson<{ ticket: string }>(
      agent,
      origin,
      'POST',
      TICKET_PATH,
      access.headers(client.user, 'POST', TICKET_PATH),
    );
    return { url: `${base}?ticket=${encodeURIComponent(ticket)}`, headers: {} };
  }
  return { url: base, headers: access.headers(client.user, 'GET', CHAT_WS_PATH) };
}

async function connectOne(i: number): Promise<void> {
  const { url, headers } = await socketUrl(i);
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: 30_000 });
    sockets[i] = ws;
    let ready = false;
    ws.on('message', (raw) => {
      if (ready) return onMessage(i, raw);
      if (raw.toString().startsWith('{"type":"ready"')) {
        ready = true;
        open[i] = 1;
        resolve();
      }
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        const code = /"code"\s*:\s*"([A-Z_]+)"/.exec(Buffer.concat(chunks).toString())?.[1];
        const retryAfter = Number(res.headers['retry-after'] ?? Number.NaN);
        reject(new Refused(res.statusCode ?? 0, code, retryAfter));
        ws.terminate();
      });
    });
    ws.on('error', (err) => {
      if (!ready) reject(err);
    });
    ws.once('close', (code) => {
      open[i] = 0;
      if (!ready) reject(new Error(`closed ${code} before ready`));
      else if (!closing) closes[String(code)] = (closes[String(code)] ?? 0) + 1;
    });
  });
}

/** An upgrade answered with a status instead of 101. */
class Refused extends Error {
  readonly status: number;
  readonly retryAfterSeconds: number;
  constructor(status: number, code: string | undefined, retryAfterSeconds: number) {
    super(`upgrade answered ${status}${code === undefined ? '' : ` ${code}`}`);
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const ATTEMPTS = 5;

/**
 * Opens every socket, as a client would: a refusal that says "try again"
 * (429, 503) or a dropped connection is retried after Retry-After or a
 * growing pause, up to five attempts; other refusals (401, 404) are final.
 * Every failed attempt is counted by reason.
 */
async function connectAll(): Promise<ConnectOutcome> {
  const errors: Record<string, number> = {};
  let failed = 0;
  let retried = 0;
  const count = (reason: string) => {
    if (reason in errors || Object.keys(errors).length < 8) errors[reason] = (errors[reason] ?? 0) + 1;
  };
  const indices = data.clients.map((_, i) => i);
  await inPool(indices, data.connectConcurrency, async (i) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await connectOne(i);
        return;
      } catch (err) {
        count((err as Error).message.slice(0, 200));
        const status = err instanceof Refused ? err.status : 0;
        if (attempt >= ATTEMPTS || (status !== 0 && status !== 429 && status !== 503)) {
          failed++;
          return;
        }
        retried++;
        const wait =
          err instanceof Refused && Number.isFinite(err.retryAfterSeconds)
            ? err.retryAfterSeconds * 1000
            : Math.min(4_000, 250 * 2 ** attempt);
        await sleep(wait * (0.5 + Math.random()));
      }
    }
  });
  return { connected: data.clients.length - failed, failed, retried, errors, open: open.slice() };
}

function result(): ReceiverResult {
  clearInterval(progress);
  const utilization =
    loopAtStart === undefined ? Number.NaN : performance.eventLoopUtilization(loopAtStart).utilization;
  return {
    histogram: histogram.snapshot(),
    max,
    bits: bits.slice(),
    bytesPerClient,
    duplicates,
    foreign,
    closes: { ...closes },
    utilization,
  };
}

port.on('message', (m: ToWorker) => {
  const fail = (err: unknown) => send({ type: 'failed', error: (err as Error).stack ?? String(err) });
  try {
    switch (m.type) {
      case 'connect':
        connectAll().then((outcome) => send({ type: 'connected', outcome }), fail);
        return;
      case 'measure':
        loopAtStart = performance.eventLoopUtilization();
        progress = setInterval(() => send({ type: 'progress', delivered }), 250);
        return;
      case 'collect': {
        const r = result();
        send({ type: 'collected', result: r }, [
          r.histogram.buffer as ArrayBuffer,
          r.bits.buffer as ArrayBuffer,
        ]);
        return;
      }
      case 'close':
        closing = true;
        for (const ws of sockets) ws?.terminate();
        agent.destroy();
        send({ type: 'closed' });
        return;
    }
  } catch (err) {
    fail(err);
  }
});
