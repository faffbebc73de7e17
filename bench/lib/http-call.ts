import { Agent, request } from 'node:http';

/**
 * One HTTP/1.1 request on a keep-alive agent, its whole answer read as text.
 * The open-loop sender and closed-loop readers use it instead of `fetch`,
 * whose per-request cost on the load generator is several times higher.
 */
export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

export function keepAliveAgent(maxSockets = 256): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

export function httpCall(
  agent: Agent,
  origin: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
  timeoutMs = 30_000,
): Promise<HttpAnswer> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        agent,
        headers: {
          ...headers,
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `httpCall` that expects a 2xx answer and parses its JSON body (undefined for an empty one). */
export async function httpJson<T>(
  agent: Agent,
  origin: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<T> {
  const answer = await httpCall(
    agent,
    origin,
    method,
    path,
    headers,
    body === undefined ? undefined : JSON.stringify(body),
  );
  if (answer.status < 200 || answer.status >= 300) {
    throw new Error(`${method} ${origin}${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  return (answer.text === '' ? undefined : JSON.parse(answer.text)) as T;
}
