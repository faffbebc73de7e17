import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { RequestContext } from '../context.ts';
import { responseHeaders } from './response-headers.ts';

type Controller = Dispatcher.DispatchController;

export const CLIENT_GONE = 'GW_CLIENT_GONE';
export const UPSTREAM_DEADLINE = 'GW_UPSTREAM_DEADLINE';

export function codeError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** How an attempt ended: its status, and whether the answer was held back for a retry. */
export interface AttemptOutcome {
  readonly status: number;
  readonly held: boolean;
}

/**
 * One proxied attempt as an undici dispatch handler: the upstream's status and
 * headers are written to the client as they arrive and the body is written
 * chunk by chunk with backpressure (the upstream is paused while the client's
 * socket is full). No intermediate streams: this is the gateway's hot path.
 *
 * `done` resolves when the answer is complete, and rejects only while nothing
 * has been sent to the client yet, so the pipeline can still answer with a
 * problem document.
 */
export class ProxyHandler implements Dispatcher.DispatchHandler {
  readonly done: Promise<AttemptOutcome>;
  #resolve!: (outcome: AttemptOutcome) => void;
  #reject!: (err: Error) => void;
  readonly #ctx: RequestContext;
  readonly #res: ServerResponse;
  #controller: Controller | undefined;
  #abortReason: Error | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stall: NodeJS.Timeout | undefined;
  readonly #timeoutMs: number;
  #bodyless = false;
  #status = 0;
  #held = false;
  readonly #sent = performance.now();
  readonly #holdIf: ((status: number) => boolean) | undefined;

  /**
   * `holdIf` may keep an answer from the client (a 502/503/504 that will be
   * retried): it is read and dropped, and nothing reaches the client.
   */
  constructor(
    ctx: RequestContext,
    res: ServerResponse,
    timeoutMs: number,
    holdIf?: (status: number) => boolean,
  ) {
    this.#ctx = ctx;
    this.#res = res;
    this.#holdIf = holdIf;
    this.#timeoutMs = timeoutMs;
    this.done = new Promise<AttemptOutcome>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timer = setTimeout(() => this.abort(codeError(UPSTREAM_DEADLINE)), timeoutMs);
    ctx.onClientGone = () => this.abort(codeError(CLIENT_GONE));
    if (ctx.clientGone) this.abort(codeError(CLIENT_GONE));
  }

  /** Cancels the upstream request (deadline reached, client gone, body too large). */
  abort(reason: Error): void {
    this.#abortReason ??= reason;
    this.#controller?.abort(reason);
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#abortReason !== undefined) controller.abort(this.#abortReason);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx answers are hop-by-hop
    clearTimeout(this.#timer);
    const ctx = this.#ctx;
    ctx.upstreamMs = performance.now() - this.#sent;
    this.#status = statusCode;
    if (this.#holdIf?.(statusCode) === true) {
      this.#held = true;
      this.#bodyless = true;
      return;
    }
    const res = this.#res;
    if (res.destroyed) {
      this.abort(codeError(CLIENT_GONE));
      return;
    }
    res.writeHead(statusCode, responseHeaders(headers, ctx.responseHeaders));
    // An event stream's client is waiting for the headers to start listening: send them now, not
    // with the first event (which may be minutes away).
    const type = headers['content-type'];
    if (typeof type === 'string' && type.startsWith('text/event-stream')) res.flushHeaders();
    this.#bodyless = ctx.method === 'HEAD' || statusCode === 204 || statusCode === 304;
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#bodyless) return;
    const res = this.#res;
    if (res.destroyed) {
      // A destroyed response never drains: pausing would hold the upstream connection forever.
      this.abort(codeError(CLIENT_GONE));
      return;
    }
    if (!res.write(chunk)) {
      // The client's socket is full: pause the upstream until it drains. undici's body timeout does
      // not run while paused, so a client that stops reading is cut after the route's timeout rather
      // than holding the upstream connection and its concurrency slot forever.
      controller.pause();
      this.#stall = setTimeout(() => {
        this.abort(codeError(CLIENT_GONE));
        res.destroy();
      }, this.#timeoutMs);
      res.once('drain', () => {
        clearTimeout(this.#stall);
        controller.resume();
      });
    }
  }

  onResponseEnd(): void {
    clearTimeout(this.#stall);
    this.#release();
    if (!this.#held && !this.#res.destroyed) this.#res.end();
    this.#resolve({ status: this.#status, held: this.#held });
  }

  onResponseError(_controller: Controller, err: Error): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#stall);
    this.#release();
    const ctx = this.#ctx;
    if (ctx.upstreamMs === undefined) ctx.upstreamMs = performance.now() - this.#sent;
    if (this.#res.headersSent) {
      // Part of the answer is out: the only honest thing left is to cut the connection.
      this.#res.destroy();
      this.#resolve({ status: this.#status, held: false });
      return;
    }
    this.#reject(Object.assign(err, { abortReason: this.#abortReason }));
  }

  /**
   * Drops the undici controller once the attempt is over. The handler outlives the attempt (the
   * request context and the client's 'close' listener still reach it), and the controller reaches
   * the attempt's request, raw headers and socket state: kept, every finished request carried
   * about 2.5 KB across young-generation GCs, which turned 1 ms scavenges into 7–12 ms ones
   * (docs/benchmarks.md, "p99 at half load").
   */
  #release(): void {
    this.#controller = undefined;
    this.#ctx.onClientGone = undefined;
  }
}
