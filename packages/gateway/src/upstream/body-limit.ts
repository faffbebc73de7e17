import { Transform, type TransformCallback } from 'node:stream';

export const BODY_TOO_LARGE = 'GW_BODY_TOO_LARGE';

/**
 * Counts a streamed (chunked) request body and fails as soon as it would pass
 * `max`: the chunk that crosses the limit is never passed on, so the upstream
 * never sees the excess.
 */
export class BodyLimit extends Transform {
  readonly #max: number;
  #seen = 0;

  constructor(max: number) {
    super();
    this.#max = max;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#max) {
      callback(Object.assign(new Error(`body larger than ${this.#max} bytes`), { code: BODY_TOO_LARGE }));
      return;
    }
    callback(null, chunk);
  }
}
