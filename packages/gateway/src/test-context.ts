import type { IncomingMessage } from 'node:http';
import { createContext, type RequestContext } from './context.ts';
import type { Responder } from './pipeline/responder.ts';

/**
 * A request context for stage unit tests, built from the raw header list a
 * client would send (the stages read only `rawHeaders`, `headers`, `url`,
 * `method` and the socket's address). HTTP-level tests use real servers.
 */
export function contextFor(
  init: {
    method?: string;
    url?: string;
    rawHeaders?: string[];
    remoteAddress?: string;
    encrypted?: boolean;
  } = {},
): RequestContext {
  const rawHeaders = init.rawHeaders ?? [];
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    headers[name] =
      headers[name] === undefined ? (rawHeaders[i + 1] as string) : `${headers[name]}, ${rawHeaders[i + 1]}`;
  }
  const req = {
    method: init.method ?? 'GET',
    url: init.url ?? '/',
    rawHeaders,
    headers,
    socket: { remoteAddress: init.remoteAddress ?? '127.0.0.1', encrypted: init.encrypted },
  } as unknown as IncomingMessage;
  return createContext(req, { responder: {} as Responder }, 0);
}
