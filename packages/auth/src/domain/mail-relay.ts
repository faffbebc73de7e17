import type { Database, Logger } from '@gatehouse/kit/service';
import { createTransport, type Transporter } from 'nodemailer';
import { claimUnsent, markFailed, markSent } from '../db/outbox.ts';

const BATCH = 20;
const MAX_ATTEMPTS = 5;
const POLL_MS = 2_000;

/**
 * Relays the outbox to SMTP. Mail is written to the outbox in the same
 * transaction as what causes it (a reset request, an invitation), so a
 * rolled-back transaction sends nothing and a committed one is never lost; the
 * relay sends it after commit (nudged at once, and on a timer for retries),
 * marks it sent, or counts the failure and tries again up to 5 times.
 */
export class MailRelay {
  readonly #db: Database;
  readonly #logger: Logger;
  readonly #from: string;
  readonly #transport: Transporter;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(db: Database, logger: Logger, smtp: { url: string; from: string }) {
    this.#db = db;
    this.#logger = logger;
    this.#from = smtp.from;
    this.#transport = createTransport(smtp.url);
  }

  start(): void {
    this.#timer = setInterval(() => this.nudge(), POLL_MS);
    this.#timer.unref();
    this.nudge();
  }

  /** Relay now (called after a transaction that queued mail has committed). */
  nudge(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#relay()
      .catch((err: Error) => this.#logger.warn({ err: err.message }, 'mail relay: pass failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.nudge();
        }
      });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
    this.#transport.close();
  }

  async #relay(): Promise<void> {
    await this.#db.transaction(async (tx) => {
      for (const mail of await claimUnsent(tx, BATCH, MAX_ATTEMPTS)) {
        try {
          await this.#transport.sendMail({
            from: this.#from,
            to: mail.recipient,
            subject: mail.subject,
            text: mail.body,
          });
          await markSent(tx, mail.id);
          this.#logger.info({ outboxId: mail.id, to: mail.recipient, subject: mail.subject }, 'mail sent');
        } catch (err) {
          await markFailed(tx, mail.id, (err as Error).message);
          this.#logger.warn(
            { outboxId: mail.id, attempt: mail.attempts + 1, err: (err as Error).message },
            'mail relay: sending failed',
          );
        }
      }
    });
  }
}
