import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, type ProblemDocument, sendProblem } from '@gatehouse/kit';

/**
 * Where the gateway writes its own answers: refusals (problem+json) and the
 * empty answer of a CORS preflight. A plain request is answered through its
 * `ServerResponse`; an upgrade request has none, so its refusal is written as
 * raw HTTP/1.1 to the client's socket, before any `101` and with the same
 * status, code, body and headers a plain request would get. Stages never
 * know which of the two they answer.
 */
export interface Responder {
  /** Something of the answer has gone out: a problem can no longer be sent, only the connection cut. */
  readonly sent: boolean;
  /** The status the client received, or undefined while nothing was sent. */
  readonly status: number | undefined;
  /** A problem document. `close` also asks to end the connection after it (an unread body). */
  problem(doc: ProblemDocument, headers: Readonly<Record<string, string>>, close: boolean): void;
  /** An answer without a body (a preflight's 204). */
  empty(status: number, headers: Readonly<Record<string, string>>): void;
  /** Cuts the connection (an answer already under way cannot be completed honestly). */
  destroy(): void;
}

export class ResponseResponder implements Responder {
  readonly #res: ServerResponse;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  get sent(): boolean {
    return this.#res.headersSent;
  }

  get status(): number | undefined {
    return this.#res.headersSent ? this.#res.statusCode : undefined;
  }

  problem(doc: ProblemDocument, headers: Readonly<Record<string, string>>, close: boolean): void {
    if (close) this.#res.setHeader('connection', 'close');
    sendProblem(this.#res, doc, headers);
  }

  empty(status: number, headers: Readonly<Record<string, string>>): void {
    this.#res.writeHead(status, { ...headers, 'content-length': '0' });
    this.#res.end();
  }

  destroy(): void {
    this.#res.destroy();
  }
}

/**
 * Answers on an upgrade request's raw socket. The connection always ends after
 * the answer: a refused handshake leaves no connection to reuse, and whatever
 * the client sent after its head is never read as another request.
 */
export class SocketResponder implements Responder {
  readonly #socket: Duplex;
  #status: number | undefined;

  constructor(socket: Duplex) {
    this.#socket = socket;
  }

  get sent(): boolean {
    return this.#status !== undefined;
  }

  get status(): number | undefined {
    return this.#status;
  }

  /** Records that the tunnel wrote the upstream's own answer (a 101, or its refusal) itself. */
  markSent(status: number): void {
    this.#status = status;
  }

  problem(doc: ProblemDocument, headers: Readonly<Record<string, string>>, _close: boolean): void {
    const body = JSON.stringify(doc);
    this.#write(
      doc.status,
      {
        ...headers,
        'content-type': PROBLEM_CONTENT_TYPE,
        'content-length': String(Buffer.byteLength(body)),
        'cache-control': 'no-store',
      },
      body,
    );
  }

  empty(status: number, headers: Readonly<Record<string, string>>): void {
    this.#write(status, { ...headers, 'content-length': '0' }, '');
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #write(status: number, headers: Readonly<Record<string, string>>, body: string): void {
    this.#status = status;
    if (!this.#socket.writable) {
      this.#socket.destroy();
      return;
    }
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (const name in headers) {
      if (name === 'connection') continue;
      head += `${name}: ${headers[name]}\r\n`;
    }
    this.#socket.end(`${head}connection: close\r\n\r\n${body}`);
  }
}
