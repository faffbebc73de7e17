import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Printable, short, no spaces or quotes: safe to log and to echo in a header. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{8,128}$/;

export function isSaneRequestId(value: unknown): value is string {
  return typeof value === 'string' && SANE_REQUEST_ID.test(value);
}

/** Keeps a sane inbound `x-request-id` (the gateway's), else generates one. */
export function requestIdFor(req: IncomingMessage): string {
  const inbound = req.headers[REQUEST_ID_HEADER];
  return isSaneRequestId(inbound) ? inbound : randomUUID();
}
