import { Worker } from 'node:worker_threads';
import type { AccessSpec, BenchChatUser } from './chat-access.ts';

/**
 * The chat bench's clients, spread over worker threads so that one Node
 * thread reading every socket is not the limit: each worker opens its share
 * of the WebSockets, waits for each one's `ready`, then records every
 * `message.created` of the run: the first delivery of each message on each
 * socket (a bit per client and message, so losses and duplicates are counted
 * exactly) and its send→deliver latency on the machine's monotonic clock.
 * The worker's code is chat-receiver-worker.ts.
 */
export interface ReceiverClient {
  readonly user: BenchChatUser;
  readonly channel: number;
  /** Index into the access's origins. */
  readonly origin: number;
}

export interface ReceiverData {
  readonly access: AccessSpec;
  readonly clients: readonly ReceiverClient[];
  /** Marks this run's messages: `bench:<tag>:<n>:<due ms>`. */
  readonly tag: string;
  readonly channels: number;
  /** Messages per channel at most (bits per client). */
  readonly perChannel: number;
  /** Handshakes in flight per worker. */
  readonly connectConcurrency: number;
}

export interface ConnectOutcome {
  readonly connected: number;
  /** Clients that failed after every attempt. */
  readonly failed: number;
  /** Attempts that were retried (after a 429, a 503 or a dropped connection). */
  readonly retried: number;
  /** Failed attempts by reason (up to eight reasons), retried ones included. */
  readonly errors: Record<string, number>;
  /** 1 for each client (in the worker's order) whose socket is open and ready. */
  readonly open: Uint8Array;
}

export interface ReceiverResult {
  /** LatencyHistogram snapshot of first deliveries (ms). */
  readonly histogram: Uint32Array;
  readonly max: number;
  /** Bit k of client i (bytes i × ⌈perChannel/8⌉ …): message channel + k × channels arrived. */
  readonly bits: Uint8Array;
  readonly bytesPerClient: number;
  readonly duplicates: number;
  /** Bench messages of a channel the client is not in (must be 0). */
  readonly foreign: number;
  /** Sockets closed during the run (not by the bench), by close code. */
  readonly closes: Record<string, number>;
  /** The worker's event-loop utilisation during the run (0–1). */
  readonly utilization: number;
}

export type ToWorker = { type: 'connect' } | { type: 'measure' } | { type: 'collect' } | { type: 'close' };
export type FromWorker =
  | { type: 'connected'; outcome: ConnectOutcome }
  | { type: 'progress'; delivered: number }
  | { type: 'collected'; result: ReceiverResult }
  | { type: 'closed' }
  | { type: 'failed'; error: string };

export class Receivers {
  readonly #workers: Worker[];
  readonly #delivered: number[];

  constructor(data: readonly ReceiverData[]) {
    this.#workers = data.map(
      (workerData) => new Worker(new URL('./chat-receiver-worker.ts', import.meta.url), { workerData }),
    );
    this.#delivered = data.map(() => 0);
    this.#workers.forEach((w, i) => {
      w.on('message', (m: FromWorker) => {
        if (m.type === 'progress') this.#delivered[i] = m.delivered;
      });
    });
  }

  /** First deliveries so far, all workers (updated four times a second while measuring). */
  delivered(): number {
    return this.#delivered.reduce((a, b) => a + b, 0);
  }

  async connect(): Promise<ConnectOutcome[]> {
    return (await this.#ask({ type: 'connect' }, 'connected')).map((m) => m.outcome);
  }

  measure(): void {
    for (const w of this.#workers) w.postMessage({ type: 'measure' } satisfies ToWorker);
  }

  async collect(): Promise<ReceiverResult[]> {
    return (await this.#ask({ type: 'collect' }, 'collected')).map((m) => m.result);
  }

  async close(): Promise<void> {
    await this.#ask({ type: 'close' }, 'closed').catch(() => undefined);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #ask<T extends FromWorker['type']>(
    message: ToWorker,
    reply: T,
  ): Promise<Extract<FromWorker, { type: T }>[]> {
    return Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<Extract<FromWorker, { type: T }>>((resolve, reject) => {
            const onMessage = (m: FromWorker) => {
              if (m.type === 'failed') {
                done();
                reject(new Error(`chat receiver: ${m.error}`));
              } else if (m.type === reply) {
                done();
                resolve(m as Extract<FromWorker, { type: T }>);
              }
            };
            const onExit = (code: number) => {
              done();
              reject(new Error(`chat receiver exited (${code}) before answering ${message.type}`));
            };
            const onError = (err: Error) => {
              done();
              reject(new Error(`chat receiver failed before answering ${message.type}: ${err.stack ?? err}`));
            };
            const done = () => {
              w.off('message', onMessage);
              w.off('error', onError);
              w.off('exit', onExit);
            };
            w.on('message', onMessage);
            w.on('error', onError);
            w.on('exit', onExit);
            w.postMessage(message);
          }),
      ),
    );
  }
}
