import type { Dispatcher } from 'undici';

/** Reads a response body into a string, failing as soon as it passes `max` bytes. */
export async function readCapped(body: AsyncIterable<Buffer>, max: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new Error(`${what} larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The answer's body could not be read whole: larger than the cap (declared
 * or counted), or the stream failed half-way. Callers tell it apart from a
 * failed call by `code` (a service that answered garbage is not one that
 * could not be reached).
 */
export class BodyUnreadable extends Error {
  readonly code = 'INTERNAL_BODY_UNREADABLE';
  /** The Content-Length alone was over the cap; nothing was read. */
  readonly declared: boolean;
  constructor(message: string, declared: boolean, options?: ErrorOptions) {
    super(message, options);
    this.declared = declared;
  }
}

/**
 * The capped-body layer's reader: the whole body as text, at most `max`
 * bytes. A Content-Length over the cap fails before a byte is read; on any
 * failure the body is destroyed, so the connection is not reused with half
 * an answer in it.
 */
export async function readCappedBody(
  res: Pick<Dispatcher.ResponseData, 'headers' | 'body'>,
  max: number,
  what: string,
): Promise<string> {
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > max) {
    discard(res.body);
    throw new BodyUnreadable(`${what} larger than ${max} bytes`, true);
  }
  try {
    return await readCapped(res.body, max, what);
  } catch (err) {
    discard(res.body);
    throw new BodyUnreadable((err as Error).message, false, { cause: err });
  }
}

/** Drops a body unread; its abort error is expected. */
function discard(body: { on(event: 'error', listener: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}
