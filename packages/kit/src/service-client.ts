import type { AssertionKey } from './assertion.ts';
import { createServiceCallSigner } from './service-assertion.ts';

/**
 * A service's client for its platform calls to another service (chat
 * reporting usage to billing): each call signed as the platform service
 * `service` (method, path and request id covered), one deadline over the
 * whole call, the answer's body read up to a cap and parsed when it is JSON.
 * It neither retries nor trips a breaker: the caller owns that policy (a
 * usage reporter keeps its batch and backs off; a read falls back to what it
 * has). The gateway's own internal client (packages/gateway/src/resilience)
 * stacks the same concerns as layers, with a breaker on top.
 */

export interface ServiceClientOptions {
  /** The other service's base URL; paths are appended to it. */
  readonly baseUrl: string;
  /** Who calls: signs as `service:<service>`. */
  readonly service: string;
  readonly assertionKeys: readonly AssertionKey[];
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

export interface ServiceCall {
  readonly method: 'GET' | 'POST';
  /** Signed and requested (after the base URL's own path). */
  readonly path: string;
  /** Appended to the requested path, not signed (`?after=…`). */
  readonly query?: string | undefined;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly requestId?: string | undefined;
  /** The caller's own abort (shutdown). */
  readonly signal?: AbortSignal | undefined;
  /** This call's deadline instead of the client's. */
  readonly timeoutMs?: number | undefined;
}

export interface ServiceAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed body when the answer is JSON (problem+json included), else undefined. */
  readonly body: unknown;
}

/** No whole answer within the deadline. */
export class ServiceCallTimeout extends Error {
  readonly code = 'SERVICE_CALL_TIMEOUT';
  constructor(timeoutMs: number, options?: ErrorOptions) {
    super(`no answer within ${timeoutMs} ms`, options);
  }
}

/** The answer could not be read: larger than the cap, cut short, or JSON that does not parse. */
export class ServiceAnswerUnreadable extends Error {
  readonly code = 'SERVICE_ANSWER_UNREADABLE';
}

export type ServiceClient = (call: ServiceCall) => Promise<ServiceAnswer>;

export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  const sign = createServiceCallSigner(options.assertionKeys, options.service);
  const base = new URL(options.baseUrl);
  const prefix = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
  return async function callService(call) {
    const timeoutMs = call.timeoutMs ?? options.timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = call.signal === undefined ? deadline : AbortSignal.any([call.signal, deadline]);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...call.headers,
      ...sign(call.method, call.path, call.requestId),
    };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(`${prefix}${call.path}${call.query ?? ''}`, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal,
        redirect: 'manual',
      });
      const text = await readCapped(res, options.maxBodyBytes);
      const json = /[/+]json\b/.test(res.headers.get('content-type') ?? '');
      let body: unknown;
      if (json && text !== '') {
        try {
          body = JSON.parse(text);
        } catch (err) {
          throw new ServiceAnswerUnreadable(`${call.method} ${call.path}: the answer is not JSON`, {
            cause: err,
          });
        }
      }
      return { status: res.status, headers: res.headers, body };
    } catch (err) {
      if (deadline.aborted && !(call.signal?.aborted ?? false))
        throw new ServiceCallTimeout(timeoutMs, { cause: err });
      throw err;
    }
  };
}

async function readCapped(res: Response, max: number): Promise<string> {
  if (Number(res.headers.get('content-length') ?? 0) > max) {
    await res.body?.cancel().catch(() => {});
    throw new ServiceAnswerUnreadable(`answer larger than ${max} bytes`);
  }
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    // Leaving the loop by a throw cancels the stream (the connection is not reused half-read).
    if (size > max) throw new ServiceAnswerUnreadable(`answer larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
