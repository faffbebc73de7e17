import type { Layer } from './internal-client.ts';

/** The call (connect, answer and body) did not finish within its deadline. */
export class InternalTimeout extends Error {
  readonly code = 'INTERNAL_TIMEOUT';
  readonly timeoutMs: number;
  constructor(timeoutMs: number, options?: ErrorOptions) {
    super(`no answer within ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** undici's own deadlines, which may fire a moment before ours for the same limit. */
const UNDICI_TIMEOUTS = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * One deadline over the whole call, the body included (undici's header and
 * body timeouts are per phase and reset on every chunk, so a trickling
 * service would never trip them). Whichever deadline fires, the caller gets
 * `InternalTimeout`.
 */
export function timeoutLayer(defaultMs: number): Layer {
  return (next) =>
    async function timed(req, interpret) {
      const timeoutMs = req.timeoutMs ?? defaultMs;
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new InternalTimeout(timeoutMs));
      }, timeoutMs);
      const signal =
        req.signal === undefined ? controller.signal : AbortSignal.any([req.signal, controller.signal]);
      try {
        return await next({ ...req, timeoutMs, signal }, interpret);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (timedOut || (typeof code === 'string' && UNDICI_TIMEOUTS.has(code))) {
          throw new InternalTimeout(timeoutMs, { cause: err });
        }
        throw err;
      } finally {
        clearTimeout(timer);
      }
    };
}
