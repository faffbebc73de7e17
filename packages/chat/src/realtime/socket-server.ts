import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  ASSERTION_HEADER,
  type AssertionVerifier,
  CHAT_CLOSE,
  CHAT_WS_PATH,
  type ChatClientFrame,
  PROBLEM_CONTENT_TYPE,
  SERVICE_SUBJECT_PREFIX,
} from '@gatehouse/kit';
import { type Logger, REQUEST_ID_HEADER } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import { type RawData, WebSocketServer } from 'ws';
import { conversationIdsOf } from '../db/members.ts';
import { markRead } from '../domain/conversations.ts';
import { sendMessage } from '../domain/messages.ts';
import { type ChatServices, publish } from '../domain/services.ts';
import type { Client } from './client.ts';
import type { Hub } from './hub.ts';

const MAX_BAD_FRAMES = 5;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TYPING_EVERY_MS = 1000;
/** setTimeout's limit; a token living longer is closed by the next revocation or its re-check. */
const MAX_TIMER_MS = 2_147_483_647;

function refuse(socket: Duplex, status: number, code: string, title: string): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, code });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nconnection: close\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function parseFrame(data: RawData): (ChatClientFrame & Record<string, unknown>) | undefined {
  try {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') return undefined;
    return frame as ChatClientFrame & Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * `GET /api/chat/ws` upgrades to the chat socket. The identity comes only
 * from the gateway's signed assertion on the upgrade request (bound to this
 * method, path and request id), like every REST call; the socket then
 * receives the events of its user's conversations.
 */
export function attachSocketServer(
  app: FastifyInstance,
  s: ChatServices,
  hub: Hub,
  verifier: AssertionVerifier,
  logger: Logger,
): { close(): void } {
  const wss = new WebSocketServer({
    noServer: true,
    // A client frame holds at most one message body and its JSON around it.
    maxPayload: s.config.maxMessageBytes * 2 + 4096,
  });

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== CHAT_WS_PATH) {
      refuse(socket, 404, 'CHAT_NOT_FOUND', 'Not Found');
      return;
    }
    const assertion = req.headers[ASSERTION_HEADER];
    const requestId = req.headers[REQUEST_ID_HEADER];
    const result = verifier(assertion, {
      method: 'GET',
      path,
      requestId: typeof requestId === 'string' ? requestId : '',
    });
    if (!result.ok || result.identity.sub.startsWith(SERVICE_SUBJECT_PREFIX)) {
      logger.info({ reason: result.ok ? 'service' : result.reason }, 'chat socket refused');
      refuse(socket, 401, 'CHAT_UNAUTHENTICATED', 'Unauthorized');
      return;
    }
    const identity = result.identity;
    const now = Math.floor(Date.now() / 1000);
    // The access token's expiry, signed into the assertion by the gateway (absent from older gateways).
    const tokenExp = identity.tokenExp;
    if (tokenExp !== undefined && tokenExp <= now) {
      refuse(socket, 401, 'CHAT_UNAUTHENTICATED', 'Unauthorized');
      return;
    }
    let conversations: string[];
    try {
      conversations = await conversationIdsOf(s.db, identity.tid, identity.sub);
    } catch (err) {
      logger.error({ err }, 'chat socket: memberships could not be read');
      refuse(socket, 503, 'CHAT_INTERNAL', 'Service Unavailable');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = {
        ws,
        tenantId: identity.tid,
        userId: identity.sub,
        jti: identity.jti,
        connectedAt: now,
        conversations: new Set(conversations),
        alive: true,
        badFrames: 0,
        lastTyping: new Map(),
      };
      if (tokenExp !== undefined) {
        client.expiryTimer = setTimeout(
          () => hub.close(client, CHAT_CLOSE.tokenExpired, 'token expired'),
          Math.min(MAX_TIMER_MS, (tokenExp - now) * 1000),
        );
        client.expiryTimer.unref();
      }
      hub.add(client);
      ws.on('pong', () => {
        client.alive = true;
      });
      ws.on('message', (data, isBinary) => onFrame(client, data, isBinary));
      ws.on('close', () => hub.remove(client));
      ws.on('error', () => hub.remove(client));
      hub.send(client, { type: 'ready', userId: client.userId, conversations: client.conversations.size });
    });
  }

  function bad(client: Client, detail: string): void {
    client.badFrames++;
    hub.send(client, { type: 'error', code: 'CHAT_VALIDATION', detail });
    if (client.badFrames >= MAX_BAD_FRAMES) hub.close(client, CHAT_CLOSE.protocolError, 'protocol error');
  }

  function onFrame(client: Client, data: RawData, isBinary: boolean): void {
    client.alive = true;
    const frame = isBinary ? undefined : parseFrame(data);
    if (frame === undefined) {
      bad(client, 'frames are JSON objects with a type');
      return;
    }
    const conversationId = frame.conversationId;
    if (typeof conversationId !== 'string' || !client.conversations.has(conversationId)) {
      // Not a member (or another tenant's id): the same answer as for an id that does not exist.
      bad(client, 'no such conversation');
      return;
    }
    const caller = { tenantId: client.tenantId, userId: client.userId };
    const ref = typeof frame.ref === 'string' ? frame.ref.slice(0, 64) : undefined;
    const fail = (err: unknown) => {
      const e = err as {
        code?: string;
        status?: number;
        detail?: string;
        extensions?: Record<string, unknown>;
      };
      if (typeof e.code !== 'string' || (e.status ?? 500) >= 500)
        logger.error({ err }, 'chat socket frame failed');
      hub.send(client, {
        type: 'error',
        code: typeof e.code === 'string' && (e.status ?? 500) < 500 ? e.code : 'CHAT_INTERNAL',
        detail: e.detail ?? 'failed',
        ...(typeof e.extensions?.retryAfterSeconds === 'number'
          ? { retryAfterSeconds: e.extensions.retryAfterSeconds }
          : {}),
        ...(ref === undefined ? {} : { ref }),
      });
    };
    switch (frame.type) {
      case 'typing': {
        // Never stored; at most one a second per conversation and socket.
        const last = client.lastTyping.get(conversationId) ?? 0;
        if (Date.now() - last < TYPING_EVERY_MS) return;
        client.lastTyping.set(conversationId, Date.now());
        publish(s, client.tenantId, {
          type: 'typing',
          conversationId,
          userId: client.userId,
          expiresAt: new Date(Date.now() + s.config.ws.typingSeconds * 1000).toISOString(),
        });
        return;
      }
      case 'message.send': {
        const body = frame.body;
        const parentId = frame.parentId;
        const idempotencyKey = frame.idempotencyKey;
        if (
          typeof body !== 'string' ||
          (parentId !== undefined && (typeof parentId !== 'string' || !UUID.test(parentId))) ||
          (idempotencyKey !== undefined &&
            (typeof idempotencyKey !== 'string' || idempotencyKey.length > 128))
        ) {
          bad(client, 'message.send takes body, and optionally parentId and idempotencyKey');
          return;
        }
        sendMessage(s, caller, conversationId, { body, parentId, idempotencyKey }).then(
          ({ message }) => hub.send(client, { type: 'sent', ref, message }),
          fail,
        );
        return;
      }
      case 'read': {
        if (typeof frame.seq !== 'number' || !Number.isSafeInteger(frame.seq) || frame.seq < 0) {
          bad(client, 'read takes seq');
          return;
        }
        markRead(s, caller, conversationId, frame.seq).catch(fail);
        return;
      }
      default:
        bad(
          client,
          `unknown frame type ${JSON.stringify(String((frame as { type: unknown }).type).slice(0, 32))}`,
        );
        return;
    }
  }

  const listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(req, socket, head).catch((err: unknown) => {
      logger.error({ err }, 'chat socket upgrade failed');
      socket.destroy();
    });
  };
  app.server.on('upgrade', listener);
  return {
    close() {
      app.server.off('upgrade', listener);
      hub.closeAll();
      wss.close();
    },
  };
}
