import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The identity service's development outbox, read from its log: without SMTP,
 * and outside production, each mail is logged at `info` with `to`, `subject`
 * and `mailBody` (invitations carry `token: <token>`). The log is followed
 * from where the last read stopped, so waiting for thousands of mails stays
 * linear in the log's size.
 */
export class MailLog {
  readonly #file: string;
  #offset = 0;
  #partial = '';
  readonly #decoder = new StringDecoder('utf8');
  /** Latest token mailed to an address (lower case), by subject. */
  readonly #tokens = new Map<string, { subject: string; token: string }[]>();

  constructor(file: string) {
    this.#file = file;
  }

  /** The token in the newest mail to `to` whose subject matches, waiting for it up to `timeoutMs`. */
  async token(to: string, subject: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.#read();
      const found = this.#tokens.get(to.toLowerCase())?.findLast((m) => subject.test(m.subject))?.token;
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(`no mail to ${to} matching ${subject} in ${this.#file} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  #read(): void {
    const fd = openSync(this.#file, 'r');
    try {
      const buffer = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, this.#offset);
        if (n === 0) break;
        this.#offset += n;
        const text = this.#partial + this.#decoder.write(buffer.subarray(0, n));
        const lines = text.split('\n');
        this.#partial = lines.pop() ?? '';
        for (const line of lines) this.#line(line);
      }
    } finally {
      closeSync(fd);
    }
  }

  #line(line: string): void {
    if (!line.includes('"mailBody"')) return;
    let entry: { to?: unknown; subject?: unknown; mailBody?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    const token = /token: (\S+)/.exec(String(entry.mailBody ?? ''))?.[1];
    if (typeof entry.to !== 'string' || token === undefined) return;
    const key = entry.to.toLowerCase();
    const list = this.#tokens.get(key) ?? [];
    list.push({ subject: String(entry.subject ?? ''), token });
    this.#tokens.set(key, list);
  }
}
