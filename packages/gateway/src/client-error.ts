import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, problemType } from '@gatehouse/kit';
import { gatewayErrors } from './errors.ts';

const BY_NODE_CODE: Record<string, keyof typeof gatewayErrors.table> = {
  HPE_HEADER_OVERFLOW: 'GW_HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'GW_REQUEST_TIMEOUT',
};

/**
 * What the HTTP parser refuses before a request exists (oversized headers,
 * malformed or ambiguous framing such as Content-Length with
 * Transfer-Encoding, slow clients): a problem+json answer, then the
 * connection is closed. Nothing of such a request reaches an upstream.
 */
export function createClientErrorHandler(securityHeaders: Readonly<Record<string, string>>) {
  const extra = Object.entries(securityHeaders)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const code = BY_NODE_CODE[err.code ?? ''] ?? 'GW_BAD_REQUEST';
    const spec = gatewayErrors.table[code];
    const body = JSON.stringify({ type: problemType(code), title: spec.title, status: spec.status, code });
    socket.end(
      `HTTP/1.1 ${spec.status} ${spec.title}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\n${extra}` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  };
}
