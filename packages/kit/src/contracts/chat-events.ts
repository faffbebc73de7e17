/**
 * The chat service's realtime contract: what a client receives on its
 * WebSocket at `/api/chat/ws` (one JSON object per text frame), what it may
 * send, and the close codes. Chat instances exchange the same events through
 * Redis (`CHAT_EVENTS_CHANNEL`) wrapped in a `ChatFanout` envelope. Described
 * for people in docs/chat.md.
 */
export const CHAT_WS_PATH = '/api/chat/ws';
export const CHAT_EVENTS_CHANNEL = 'gatehouse:chat:events';

export interface ChatMessage {
  readonly id: string;
  readonly conversationId: string;
  readonly authorId: string;
  /** As sent; empty once deleted (a tombstone keeps its place in the history). */
  readonly body: string;
  /** The thread's root message, or null for a top-level message. */
  readonly parentId: string | null;
  /** User ids mentioned with `@name` (resolved when sent or edited). */
  readonly mentions: readonly string[];
  /** emoji → user ids who reacted with it. */
  readonly reactions: Readonly<Record<string, readonly string[]>>;
  /** The conversation's sequence number of the message: history order. */
  readonly seq: number;
  /** The conversation's sequence number of the last change (create, edit, delete, reaction): the `since` cursor. */
  readonly version: number;
  readonly createdAt: string;
  readonly editedAt: string | null;
  readonly deletedAt: string | null;
}

interface InConversation {
  readonly conversationId: string;
}

/** Events that change stored state carry the conversation's sequence number after the change. */
interface Sequenced extends InConversation {
  readonly seq: number;
}

export type ChatEvent =
  | ({ readonly type: 'message.created'; readonly message: ChatMessage } & Sequenced)
  | ({ readonly type: 'message.edited'; readonly message: ChatMessage } & Sequenced)
  | ({ readonly type: 'message.deleted'; readonly message: ChatMessage } & Sequenced)
  | ({
      readonly type: 'reaction.added' | 'reaction.removed';
      readonly messageId: string;
      readonly emoji: string;
      readonly userId: string;
    } & Sequenced)
  | ({ readonly type: 'member.joined'; readonly userId: string; readonly role: ChatRole } & InConversation)
  | ({ readonly type: 'member.left'; readonly userId: string } & InConversation)
  | ({ readonly type: 'read.moved'; readonly userId: string; readonly lastReadSeq: number } & InConversation)
  /** Never stored; a client shows it until `expiresAt` unless it comes again. */
  | ({ readonly type: 'typing'; readonly userId: string; readonly expiresAt: string } & InConversation);

export type ChatRole = 'owner' | 'admin' | 'member';

/**
 * Sent by the server only: the socket is ready; a message sent over the socket
 * was stored (`sent`, echoing the frame's `ref`); something the client sent was
 * refused (`error`, e.g. CHAT_RATE_LIMITED with `retryAfterSeconds`); events
 * may have been missed, so catch up with `since` (`resync`).
 */
export type ChatControlEvent =
  | { readonly type: 'ready'; readonly userId: string; readonly conversations: number }
  | { readonly type: 'sent'; readonly ref?: string | undefined; readonly message: ChatMessage }
  | {
      readonly type: 'error';
      readonly code: string;
      readonly detail: string;
      readonly retryAfterSeconds?: number;
      readonly ref?: string;
    }
  | { readonly type: 'resync' };

/** What a client may send, in a conversation it belongs to; `ref` is echoed in the answer. */
export type ChatClientFrame =
  | { readonly type: 'typing'; readonly conversationId: string }
  | {
      readonly type: 'message.send';
      readonly conversationId: string;
      readonly body: string;
      readonly parentId?: string;
      readonly idempotencyKey?: string;
      readonly ref?: string;
    }
  | { readonly type: 'read'; readonly conversationId: string; readonly seq: number; readonly ref?: string };

/** Between chat instances: the event and the tenant it belongs to. */
export interface ChatFanout {
  readonly tenantId: string;
  readonly event: ChatEvent;
}

/** Close codes of the chat socket (docs/chat.md). */
export const CHAT_CLOSE = Object.freeze({
  /** The server shuts down: reconnect (to another instance) and catch up. */
  goingAway: 1001,
  /** The access token expired or was revoked: refresh, then reconnect. */
  tokenExpired: 4401,
  /** The client read too slowly and its buffer overflowed: reconnect and catch up with `since`. */
  tooSlow: 4408,
  /** The client sent frames that are not the protocol, repeatedly. */
  protocolError: 4400,
});
