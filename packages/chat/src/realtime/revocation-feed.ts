import {
  type AssertionKey,
  createServiceClient,
  parseRevocationEvent,
  REVOCATION_FEED_PATH,
  type RevocationEvent,
  type ServiceClient,
} from '@gatehouse/kit';
import type { Logger } from '@gatehouse/kit/service';

const MAX_FEED_BYTES = 4 * 1024 * 1024;

export interface RevocationFeedOptions {
  /** The identity service's base URL. */
  readonly url: string;
  readonly assertionKeys: readonly AssertionKey[];
  readonly logger: Logger;
  /** Every event, as it arrives (the hub closes the sockets it names). */
  readonly onEvent: (event: RevocationEvent) => void;
  /** Long-poll wait per request; the identity service answers at once when there is news. */
  readonly waitMs?: number;
}

/**
 * Follows the identity service's revocation feed (`GET /internal/revocations
 * ?after=CURSOR&wait=MS`, signed as the platform service `chat`), the way the
 * gateway does, so that a revoked user's sockets are closed with 4401 within a
 * second on an instance that has no Redis channel to hear it from. The first
 * call does not wait (it catches up with the feed's history, which closes
 * nothing but sockets of tokens revoked anyway).
 *
 * Failure mode: the identity service unreachable, the loop backs off (0.25 s
 * doubling to 5 s) and keeps trying; sockets stay open until their token
 * expires or the gateway cuts the tunnel, and chat keeps serving.
 */
export class RevocationFeed {
  readonly #options: RevocationFeedOptions;
  readonly #call: ServiceClient;
  readonly #waitMs: number;
  readonly #abort = new AbortController();
  #cursor = '0';
  #synced = false;
  #loop: Promise<void> | undefined;

  constructor(options: RevocationFeedOptions) {
    this.#options = options;
    this.#waitMs = options.waitMs ?? 20_000;
    this.#call = createServiceClient({
      baseUrl: options.url,
      service: 'chat',
      assertionKeys: options.assertionKeys,
      timeoutMs: this.#waitMs + 10_000,
      maxBodyBytes: MAX_FEED_BYTES,
    });
  }

  get synced(): boolean {
    return this.#synced;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let backoff = 250;
    while (!this.#abort.signal.aborted) {
      try {
        await this.#pull(this.#synced ? this.#waitMs : 0);
        backoff = 250;
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#options.logger.warn(
          { err: (err as Error).message, backoffMs: backoff },
          'revocations: feed unreachable, retrying; sockets of revoked users stay open until it is back',
        );
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            this.#abort.signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, backoff);
          this.#abort.signal.addEventListener('abort', done);
        });
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  async #pull(waitMs: number): Promise<void> {
    const { status, body } = await this.#call({
      method: 'GET',
      path: REVOCATION_FEED_PATH,
      query: `?after=${this.#cursor}&wait=${waitMs}`,
      signal: this.#abort.signal,
    });
    if (status !== 200) throw new Error(`feed answered ${status}`);
    const page = body as { events?: unknown; cursor?: unknown } | undefined;
    if (!Array.isArray(page?.events) || typeof page.cursor !== 'string' || !/^[0-9]{1,15}$/.test(page.cursor))
      throw new Error('feed answer has no events or cursor');
    for (const raw of page.events) {
      const event = parseRevocationEvent(raw);
      if (event === undefined)
        this.#options.logger.warn({ event: raw }, 'revocations: malformed event ignored');
      else this.#options.onEvent(event);
    }
    this.#cursor = page.cursor;
    if (!this.#synced) {
      this.#synced = true;
      this.#options.logger.info(
        { cursor: this.#cursor },
        'revocations: following the identity service’s feed',
      );
    }
  }
}
