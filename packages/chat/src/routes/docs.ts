import { registerOpenApi } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import type { ChatConfig } from '../config.ts';

/** /api/chat/openapi.json and /api/chat/docs from the routes' schemas; the socket is described in docs/chat.md. */
export async function registerDocs(app: FastifyInstance, config: ChatConfig): Promise<void> {
  await registerOpenApi(app, {
    basePath: '/api/chat',
    title: 'Gatehouse chat service',
    description:
      'Conversations, messages, reactions, read state and search, scoped to the tenant of your token. ' +
      'Reached through the gateway at /api/chat; real time on the WebSocket /api/chat/ws (docs/chat.md). ' +
      'Errors are RFC 9457 problem documents with CHAT_* codes (docs/errors.md).',
    publicUrl: config.publicUrl,
    tags: [
      { name: 'conversations', description: 'Channels and direct conversations, members, read markers' },
      { name: 'messages', description: 'History, send, edit, delete, reactions' },
      { name: 'search', description: 'Full-text search' },
    ],
  });
}
