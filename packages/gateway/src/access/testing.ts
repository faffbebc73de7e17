import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { startHttpServer } from '@gatehouse/kit/testing';

/**
 * A real access-check service on 127.0.0.1:0 for tests: it records every call
 * and answers with what `answer` says (by default `{"allowed": true}` unless
 * the resource id is listed in `deny`).
 */

export interface CheckerCall {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw body text. */
  readonly text: string;
  readonly body: Record<string, unknown>;
}

export type CheckerAnswer = (call: CheckerCall, res: ServerResponse) => void;

export interface TestChecker {
  readonly url: string;
  readonly calls: CheckerCall[];
  readonly deny: Set<string>;
  answer: CheckerAnswer;
  close(): Promise<void>;
}

export function json(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startTestChecker(path = '/internal/access'): Promise<TestChecker> {
  const calls: CheckerCall[] = [];
  const deny = new Set<string>();
  const checker: { answer: CheckerAnswer } = {
    answer: (call, res) =>
      json(res, 200, JSON.stringify({ allowed: !deny.has(String(call.body.resourceId)) })),
  };
  const started = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {}
      const call: CheckerCall = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        text,
        body,
      };
      calls.push(call);
      checker.answer(call, res);
    });
  });
  return {
    url: `${started.url}${path}`,
    calls,
    deny,
    get answer() {
      return checker.answer;
    },
    set answer(value: CheckerAnswer) {
      checker.answer = value;
    },
    close: started.close,
  };
}

/** A local port nothing listens on (bound, then closed). */
export async function closedPortUrl(): Promise<string> {
  const server = await startHttpServer(() => {});
  const url = server.url;
  await server.close();
  return `${url}/internal/access`;
}
