import { write, writeSync } from 'node:fs';

/** pino sets `lastLevel` on a destination that carries this symbol (as its multistream does). */
const NEEDS_METADATA = Symbol.for('pino.metadata');
/** pino's numeric level of `warn`: lines at this level and above are kept past the soft bound. */
const WARN = 40;

export interface LineWriterOptions {
  /** The file descriptor written to (1: stdout). */
  readonly fd: number;
  /** A write starts once this much is pending (fewer, larger writes). Default 64 KiB. */
  readonly batchBytes?: number;
  /** Pending lines are written at least this often. Default 200 ms. */
  readonly flushMs?: number;
  /**
   * Past this many pending bytes (the disk or pipe is slower than the traffic), droppable lines
   * are dropped and counted. Default 8 MiB.
   */
  readonly softLimitBytes?: number;
  /** Past this many, every line is dropped and counted: the memory bound. Default 32 MiB. */
  readonly hardLimitBytes?: number;
}

/**
 * A process's log output: lines are gathered in memory and written in large
 * writes off the event loop (one `fs.write` of up to everything pending,
 * never more than one at a time, so lines stay in order), at least every
 * `flushMs`. Memory is bounded and the policy when the output is slower than
 * the traffic is stated: past the soft limit, droppable lines (a request's
 * access line when the answer was not an error) are dropped and counted;
 * lines at warn and above and the access lines of error answers are kept up
 * to the hard limit, past which everything is dropped and counted. The event
 * loop never waits for the disk.
 *
 * It is pino's destination (`write`, `flush`, `flushSync`), so every line of
 * the process shares one ordered stream; the gateway's access log writes its
 * own pre-serialised lines with `writeLine`.
 */
export class LineWriter {
  readonly [NEEDS_METADATA] = true;
  /** Set by pino before each `write`: the line's numeric level. */
  lastLevel = 0;
  readonly #fd: number;
  readonly #batchBytes: number;
  readonly #softLimit: number;
  readonly #hardLimit: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  #writing = false;
  #waiters: (() => void)[] = [];
  #dropped = 0;
  #timer: NodeJS.Timeout;

  constructor(options: LineWriterOptions) {
    this.#fd = options.fd;
    this.#batchBytes = options.batchBytes ?? 64 * 1024;
    this.#softLimit = options.softLimitBytes ?? 8 * 1024 * 1024;
    this.#hardLimit = options.hardLimitBytes ?? 32 * 1024 * 1024;
    this.#timer = setInterval(() => this.#writeSome(), options.flushMs ?? 200);
    this.#timer.unref();
  }

  /** Lines dropped so far because the output could not keep up. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Bytes (UTF-16 code units, close enough for a bound) waiting to be written. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** pino's entry point: one serialised line (with its newline). */
  write(line: string): boolean {
    this.writeLine(line, this.lastLevel >= WARN);
    return true;
  }

  /** One serialised line ending in a newline; `keep`: worth keeping past the soft limit. */
  writeLine(line: string, keep: boolean): void {
    const bytes = this.#pendingBytes + line.length;
    if (bytes > this.#hardLimit || (!keep && bytes > this.#softLimit)) {
      this.#dropped++;
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes = bytes;
    if (bytes >= this.#batchBytes) this.#writeSome();
  }

  /** Calls back once everything written so far has reached the file descriptor. */
  flush(callback?: (err?: Error) => void): void {
    if (!this.#writing && this.#pendingBytes === 0) {
      if (callback !== undefined) process.nextTick(callback);
      return;
    }
    if (callback !== undefined) this.#waiters.push(callback);
    this.#writeSome();
  }

  /** At exit: writes what is pending synchronously (a write in flight completes on its own). */
  flushSync(): void {
    if (this.#pendingBytes === 0) return;
    const buffer = this.#take();
    let offset = 0;
    let attempts = 0;
    while (offset < buffer.length && attempts < 1000) {
      try {
        offset += writeSync(this.#fd, buffer, offset, buffer.length - offset);
      } catch (err) {
        // A non-blocking pipe that is full: try again, a bounded number of times.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
        attempts++;
      }
    }
  }

  /** Stops the timer (tests; a process's writer lives as long as the process). */
  close(): void {
    clearInterval(this.#timer);
  }

  #take(): Buffer {
    const buffer = Buffer.from(this.#pending.join(''));
    this.#pending = [];
    this.#pendingBytes = 0;
    return buffer;
  }

  #writeSome(): void {
    if (this.#writing) return;
    if (this.#pendingBytes === 0) {
      this.#settle();
      return;
    }
    this.#writing = true;
    this.#writeBuffer(this.#take(), 0);
  }

  #writeBuffer(buffer: Buffer, offset: number): void {
    write(this.#fd, buffer, offset, buffer.length - offset, null, (err, written) => {
      if (err !== null) {
        // A full non-blocking pipe (EAGAIN) is waited out; any other error loses this batch
        // (the output is gone: nothing else can be done with it) and counts it.
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.#writeBuffer(buffer, offset), 10).unref();
          return;
        }
        this.#dropped += countLines(buffer, offset);
      } else if (offset + written < buffer.length) {
        this.#writeBuffer(buffer, offset + written);
        return;
      }
      this.#writing = false;
      if (this.#pendingBytes >= this.#batchBytes || this.#waiters.length > 0) this.#writeSome();
      else if (this.#pendingBytes === 0) this.#settle();
    });
  }

  #settle(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}

function countLines(buffer: Buffer, offset: number): number {
  let lines = 0;
  for (let i = buffer.indexOf(10, offset); i !== -1; i = buffer.indexOf(10, i + 1)) lines++;
  return lines;
}
