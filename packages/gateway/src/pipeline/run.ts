import { type ErrorTracker, isProblemError, type Logger, toProblem } from '@gatehouse/kit';
import { DONE, type RequestContext, type Stage } from '../context.ts';
import { CLIENT_GONE } from '../upstream/proxy-handler.ts';

export interface RunnerOptions {
  readonly logger: Logger;
  /** Unexpected pipeline errors are reported here (kit's startErrorTracking). */
  readonly errors?: ErrorTracker | undefined;
  /** Development only: the message of an unexpected error goes into the problem's detail. */
  readonly exposeErrors: boolean;
}

/** Runs a pipeline on one exchange; never rejects (every failure is answered or the connection cut). */
export type Run = (ctx: RequestContext, pipeline: readonly Stage[]) => Promise<void>;

/**
 * The per-request run loop: the stages in order, each may answer (DONE),
 * refuse (throw a problem) or pass. Every refusal, whichever stage threw it,
 * is written once, here, through the request's responder, so a plain request
 * and an upgrade handshake get the same status, code, body and headers.
 */
export function createRunner({ logger, errors, exposeErrors }: RunnerOptions): Run {
  function answerError(ctx: RequestContext, err: unknown): void {
    if ((err as { code?: unknown } | null)?.code === CLIENT_GONE) return;
    if (!isProblemError(err)) {
      logger.error(
        { err, requestId: ctx.requestId, traceId: ctx.traceId },
        'unhandled error in the pipeline',
      );
      errors?.capture(err, {
        requestId: ctx.requestId,
        traceId: ctx.traceId,
        route: ctx.route?.id,
        method: ctx.method,
      });
    }
    const { responder } = ctx;
    if (responder.sent) {
      responder.destroy();
      return;
    }
    const doc = toProblem(err, ctx.requestId || undefined, 'GW_INTERNAL');
    if (exposeErrors && !isProblemError(err)) doc.detail = (err as Error).message;
    const headers =
      isProblemError(err) && err.headers !== undefined
        ? { ...ctx.responseHeaders, ...err.headers }
        : ctx.responseHeaders;
    // An unread request body must not be parsed as the next request: close the connection.
    responder.problem(doc, headers, !ctx.req.complete);
  }

  return async function run(ctx, pipeline) {
    try {
      for (const stage of pipeline) {
        let result = stage(ctx);
        if (result !== undefined && typeof (result as Promise<unknown>).then === 'function') {
          result = await result;
          // The client may have left while this stage waited (a token, a lookup, Redis): stop here,
          // so nothing is sent upstream on behalf of a client that is gone.
          if (ctx.clientGone) return;
        }
        if (result === DONE) return;
      }
    } catch (err) {
      try {
        answerError(ctx, err);
      } catch (failure) {
        // Answering the error itself failed: nothing more can be said to this client.
        logger.error(
          { err: failure, requestId: ctx.requestId, traceId: ctx.traceId },
          'answering an error failed',
        );
        ctx.responder.destroy();
      }
    }
  };
}
