import { api } from './session.ts';

/** The chat service's routes the app uses (/api/chat/docs). */

export type ConversationKind = 'public' | 'private' | 'direct';

export interface Conversation {
  readonly id: string;
  readonly kind: ConversationKind;
  readonly name: string | null;
  readonly topic?: string;
  readonly archivedAt?: string | null;
  readonly lastSeq: number;
  readonly members?: readonly string[];
  readonly role: 'owner' | 'admin' | 'member' | null;
  readonly lastReadSeq: number;
  readonly unread: number;
  readonly mentions: number;
}

export interface ChatMessage {
  readonly id: string;
  readonly conversationId: string;
  readonly authorId: string;
  readonly body: string;
  readonly parentId: string | null;
  readonly mentions: readonly string[];
  readonly reactions: Readonly<Record<string, readonly string[]>>;
  readonly seq: number;
  readonly version: number;
  readonly createdAt: string;
  readonly editedAt: string | null;
  readonly deletedAt: string | null;
}

export interface HistoryPage {
  readonly messages: ChatMessage[];
  readonly hasMore: boolean;
  readonly since?: number;
  readonly lastSeq: number;
}

const BASE = '/api/chat/conversations';
const conv = (id: string) => `${BASE}/${encodeURIComponent(id)}`;

export const conversations = () => api<{ conversations: Conversation[] }>(BASE).then((r) => r.conversations);
export const publicChannels = () =>
  api<{ conversations: Conversation[] }>(`${BASE}/public`).then((r) => r.conversations);
export const createChannel = (name: string, kind: 'public' | 'private') =>
  api<Conversation>(BASE, { method: 'POST', body: { name, kind } });
export const openDirect = (members: string[]) =>
  api<Conversation>(`${BASE}/direct`, { method: 'POST', body: { members } });
export const join = (id: string) => api<void>(`${conv(id)}/join`, { method: 'POST' });
export const leave = (id: string) => api<void>(`${conv(id)}/leave`, { method: 'POST' });
export const inviteMember = (id: string, userId: string) =>
  api<void>(`${conv(id)}/members`, { method: 'POST', body: { userId } });

export function history(
  id: string,
  query: { before?: string; since?: number; thread?: string; limit?: number } = {},
): Promise<HistoryPage> {
  const params = new URLSearchParams();
  if (query.before !== undefined) params.set('before', query.before);
  if (query.since !== undefined) params.set('since', String(query.since));
  if (query.thread !== undefined) params.set('thread', query.thread);
  params.set('limit', String(query.limit ?? 50));
  return api<HistoryPage>(`${conv(id)}/messages?${params}`);
}

export const send = (id: string, body: string, idempotencyKey: string, parentId?: string) =>
  api<ChatMessage>(`${conv(id)}/messages`, {
    method: 'POST',
    body: parentId === undefined ? { body } : { body, parentId },
    headers: { 'idempotency-key': idempotencyKey },
  });

export const edit = (id: string, messageId: string, body: string) =>
  api<ChatMessage>(`${conv(id)}/messages/${encodeURIComponent(messageId)}`, {
    method: 'PATCH',
    body: { body },
  });

export const remove = (id: string, messageId: string) =>
  api<void>(`${conv(id)}/messages/${encodeURIComponent(messageId)}`, { method: 'DELETE' });

export const react = (id: string, messageId: string, emoji: string, on: boolean) =>
  api<ChatMessage>(
    `${conv(id)}/messages/${encodeURIComponent(messageId)}/reactions/${encodeURIComponent(emoji)}`,
    { method: on ? 'PUT' : 'DELETE' },
  );

export const markRead = (id: string, seq: number) =>
  api<void>(`${conv(id)}/read`, { method: 'PUT', body: { seq } });

export const search = (q: string) =>
  api<{ messages: ChatMessage[] }>(`/api/chat/search?${new URLSearchParams({ q, limit: '20' })}`).then(
    (r) => r.messages,
  );
