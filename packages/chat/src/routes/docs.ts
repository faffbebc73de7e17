import { type IdentityHook, registerApiDocuments } from '@gatehouse/kit/service';
import type { FastifyInstance } from 'fastify';
import type { ChatConfig } from '../config.ts';

/**
 * The chat service's OpenAPI documents (kit's registerApiDocuments): the public
 * one at /api/chat/openapi.json and /api/chat/docs, the internal one at
 * /internal/openapi.json for platform callers. The socket is described in docs/chat.md.
 */
export async function registerDocs(
  app: FastifyInstance,
  config: ChatConfig,
  internalAccess: IdentityHook,
): Promise<void> {
  await registerApiDocuments(app, {
    publicPrefix: '/api/chat',
    publicUrl: config.publicUrl,
    internalAccess,
    info: {
      title: 'Gatehouse chat service',
      version: '0.1.0',
      description:
        'Conversations, messages, reactions, read state and search, scoped to the tenant of your token. ' +
        'Reached through the gateway at /api/chat; real time on the WebSocket /api/chat/ws (docs/chat.md). ' +
        'Errors are RFC 9457 problem documents with CHAT_* codes (and GW_* from the gateway), listed in docs/errors.md.',
    },
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (at+jwt)' } },
    tags: [
      { name: 'conversations', description: 'Channels and direct conversations, members, read markers' },
      { name: 'messages', description: 'History, send, edit, delete, reactions' },
      { name: 'search', description: 'Full-text search' },
    ],
  });
}
