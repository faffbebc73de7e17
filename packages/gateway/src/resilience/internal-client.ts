import type { IncomingHttpHeaders } from 'node:http';
import type { ServiceCallSigner } from '@gatehouse/kit';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import type { CircuitBreaker } from './breaker.ts';
import { breakerLayer } from './breaker-layer.ts';
import { readCappedBody } from './capped-body.ts';
import { signedCall } from './signed-call.ts';
import { timeoutLayer } from './timeout.ts';

/**
 * The gateway's one client for its own platform calls (the identity
 * service's user records and revocation feed, access checkers): a signed
 * call with a deadline, a capped answer and, where the caller has one, a
 * circuit breaker. Each concern is a layer `(next) => call`, stacked the way
 * undici's `Dispatcher.compose` stacks interceptors (`dispatch => (opts,
 * handler) => …`), the last one outermost. Our layers work on whole answers
 * rather than undici's streaming handler callbacks because the breaker has to
 * count what the caller makes of an answer (a malformed body is a failing
 * service), which only the caller can judge.
 */

export interface InternalRequest {
  readonly method: 'GET' | 'POST';
  /** The path that is signed (and requested, after the base URL's own path). */
  readonly path: string;
  /** Appended to the requested path, not signed (`?after=…`). */
  readonly query?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: string | undefined;
  readonly requestId?: string | undefined;
  /** The caller's own abort (shutdown). */
  readonly signal?: AbortSignal | undefined;
  /** This call's deadline instead of the client's (a long poll waits longer). */
  readonly timeoutMs?: number | undefined;
}

/** An answer, its body read only for a 200 (others are drained: no caller reads them). */
export interface InternalAnswer {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** What the caller made of an answer, and whether it says the service is working (for the breaker). */
export interface Verdict<T> {
  readonly value: T;
  readonly healthy: boolean;
}

/** Reads an answer; throwing counts as a failing service, like a refused connection. */
export type Interpret<T> = (answer: InternalAnswer) => Verdict<T>;

export type Call = <T>(req: InternalRequest, interpret: Interpret<T>) => Promise<Verdict<T>>;
export type Layer = (next: Call) => Call;

/** Stacks layers over a call, the first innermost (as undici's `compose`). */
export function compose(call: Call, layers: readonly (Layer | undefined)[]): Call {
  let composed = call;
  for (const layer of layers) if (layer !== undefined) composed = layer(composed);
  return composed;
}

/** The bottom of the stack: one undici request, its 200 body read through the capped-body reader. */
export function dispatchCall(
  dispatcher: Dispatcher,
  baseUrl: string,
  maxBodyBytes: number,
  what: string,
): Call {
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  return async function dispatch(req, interpret) {
    const res = await dispatcher.request({
      origin: base.origin,
      path: `${prefix}${req.path}${req.query ?? ''}`,
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: req.signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      return interpret({ statusCode: res.statusCode, headers: res.headers, text: '' });
    }
    const text = await readCappedBody(res, maxBodyBytes, what);
    return interpret({ statusCode: res.statusCode, headers: res.headers, text });
  };
}

export interface InternalClientOptions {
  /** The service's base URL; request paths are appended to it. */
  readonly url: string;
  readonly sign: ServiceCallSigner;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  /** Names the answer in errors ("user record larger than 65536 bytes"). */
  readonly what: string;
  /** A pool of the caller's own; the process-wide agent otherwise. */
  readonly dispatcher?: Dispatcher | undefined;
  /** Left out, the call has no breaker (a long poll that retries on its own). */
  readonly breaker?: CircuitBreaker | undefined;
}

export class InternalClient {
  readonly breaker: CircuitBreaker | undefined;
  readonly #call: Call;

  constructor(options: InternalClientOptions) {
    this.breaker = options.breaker;
    this.#call = compose(
      dispatchCall(
        options.dispatcher ?? getGlobalDispatcher(),
        options.url,
        options.maxBodyBytes,
        options.what,
      ),
      [
        signedCall(options.sign),
        timeoutLayer(options.timeoutMs),
        options.breaker === undefined ? undefined : breakerLayer(options.breaker),
      ],
    );
  }

  /**
   * Calls the service and returns what `interpret` made of the answer. Throws
   * `CircuitOpen` (breaker open), `InternalTimeout` (past the deadline),
   * `BodyUnreadable` (answer too large or cut), or the transport's error.
   */
  async call<T>(req: InternalRequest, interpret: Interpret<T>): Promise<T> {
    return (await this.#call(req, interpret)).value;
  }
}
