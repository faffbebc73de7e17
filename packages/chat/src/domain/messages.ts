import { createHash, randomUUID } from 'node:crypto';
import type { ChatEvent, ChatMessage } from '@gatehouse/kit';
import type { Queryable } from '@gatehouse/kit/service';
import { nextSeq } from '../db/conversations.ts';
import { claimKey } from '../db/idempotency.ts';
import { membersAmong } from '../db/members.ts';
import {
  addReaction,
  bumpVersion,
  changedSince,
  editMessage,
  findMessage,
  insertMessage,
  type MessageRow,
  pageMessages,
  removeReaction,
  searchMessages,
  toMessage,
  tombstoneMessage,
  withReactions,
} from '../db/messages.ts';
import { chatError } from '../errors.ts';
import { memberAccess } from './conversations.ts';
import { isEmoji } from './emoji.ts';
import { parseMentions } from './mentions.ts';
import { type Caller, type ChatServices, publish } from './services.ts';

function checkBody(s: ChatServices, body: string): void {
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > s.config.maxMessageBytes) {
    throw chatError('CHAT_MESSAGE_TOO_LARGE', `${bytes} bytes; at most ${s.config.maxMessageBytes}`);
  }
  if (body.trim() === '') throw chatError('CHAT_VALIDATION', 'the body is empty');
}

async function mentionsIn(q: Queryable, conversationId: string, body: string): Promise<string[]> {
  const candidates = parseMentions(body);
  const found = await membersAmong(q, conversationId, candidates);
  return candidates.filter((id) => found.has(id));
}

async function live(q: Queryable, caller: Caller, conversationId: string, messageId: string) {
  const row = await findMessage(q, caller.tenantId, conversationId, messageId);
  if (row === undefined) throw chatError('CHAT_MESSAGE_NOT_FOUND');
  if (row.deleted_at !== null) throw chatError('CHAT_MESSAGE_DELETED');
  return row;
}

export interface SendInput {
  readonly body: string;
  readonly parentId?: string | undefined;
  readonly idempotencyKey?: string | undefined;
}

/**
 * Stores a message (taking the conversation's next sequence number under its
 * lock), then publishes it. With an Idempotency-Key a retry gets the first
 * send's message back (`replayed`), even when both arrive at once.
 */
export async function sendMessage(
  s: ChatServices,
  caller: Caller,
  conversationId: string,
  input: SendInput,
): Promise<{ message: ChatMessage; replayed: boolean }> {
  checkBody(s, input.body);
  const { conversation } = await memberAccess(s.db, caller, conversationId);
  if (conversation.archived_at !== null) throw chatError('CHAT_ARCHIVED');
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([conversationId, input.parentId ?? null, input.body]))
    .digest('base64url');
  if (input.idempotencyKey !== undefined) {
    const earlier = await replay(s, caller, input.idempotencyKey, fingerprint);
    if (earlier !== undefined) return { message: earlier, replayed: true };
  }
  await s.limits.checkSend(caller.tenantId, caller.userId);
  const id = randomUUID();
  const result = await s.db.transaction(async (tx) => {
    if (input.idempotencyKey !== undefined) {
      const claim = await claimKey(tx, {
        tenantId: caller.tenantId,
        userId: caller.userId,
        key: input.idempotencyKey,
        fingerprint,
        messageId: id,
      });
      if (claim !== undefined) return { claim };
    }
    if (input.parentId !== undefined) {
      const parent = await findMessage(tx, caller.tenantId, conversationId, input.parentId);
      if (parent === undefined) throw chatError('CHAT_MESSAGE_NOT_FOUND', 'no such parent message here');
      if (parent.parent_id !== null)
        throw chatError('CHAT_VALIDATION', 'reply to the thread root, not a reply');
    }
    const seq = await nextSeq(tx, caller.tenantId, conversationId);
    const row = await insertMessage(tx, {
      id,
      tenant_id: caller.tenantId,
      conversation_id: conversationId,
      seq,
      author_id: caller.userId,
      body: input.body,
      parent_id: input.parentId ?? null,
      mentions: await mentionsIn(tx, conversationId, input.body),
    });
    return { row };
  });
  if ('claim' in result) {
    const earlier = await replay(s, caller, input.idempotencyKey as string, fingerprint);
    if (earlier === undefined) throw new Error('idempotency claim without its message');
    return { message: earlier, replayed: true };
  }
  const message = toMessage(result.row);
  // Counted once it is stored, and only then: a replay or a refused send is not usage.
  s.usage.record(caller.tenantId);
  publish(s, caller.tenantId, {
    type: 'message.created',
    conversationId,
    seq: message.seq,
    message,
  });
  return { message, replayed: false };
}

async function replay(
  s: ChatServices,
  caller: Caller,
  key: string,
  fingerprint: string,
): Promise<ChatMessage | undefined> {
  const r = await s.db.query<{ message_id: string; fingerprint: string; conversation_id: string }>(
    `select k.message_id, k.fingerprint, m.conversation_id from chat_idempotency k
       join chat_messages m on m.id = k.message_id
      where k.tenant_id = $1 and k.user_id = $2 and k.key = $3`,
    [caller.tenantId, caller.userId, key],
  );
  const row = r.rows[0];
  if (row === undefined) return undefined;
  if (row.fingerprint !== fingerprint) throw chatError('CHAT_IDEMPOTENCY_MISMATCH');
  const message = await findMessage(s.db, caller.tenantId, row.conversation_id, row.message_id);
  return message === undefined ? undefined : (await withReactions(s.db, [message]))[0];
}

async function change(
  s: ChatServices,
  caller: Caller,
  conversationId: string,
  fn: (tx: Queryable, version: number) => Promise<{ row: MessageRow; event: (m: ChatMessage) => ChatEvent }>,
): Promise<ChatMessage> {
  const { row, event } = await s.db.transaction(async (tx) => {
    const version = await nextSeq(tx, caller.tenantId, conversationId);
    return fn(tx, version);
  });
  const [message] = await withReactions(s.db, [row]);
  publish(s, caller.tenantId, event(message as ChatMessage));
  return message as ChatMessage;
}

export async function editMessageBody(
  s: ChatServices,
  caller: Caller,
  conversationId: string,
  messageId: string,
  body: string,
): Promise<ChatMessage> {
  checkBody(s, body);
  const { conversation } = await memberAccess(s.db, caller, conversationId);
  if (conversation.archived_at !== null) throw chatError('CHAT_ARCHIVED');
  const current = await live(s.db, caller, conversationId, messageId);
  if (current.author_id !== caller.userId) throw chatError('CHAT_NOT_AUTHOR');
  return change(s, caller, conversationId, async (tx, version) => {
    const row = await editMessage(tx, messageId, version, body, await mentionsIn(tx, conversationId, body));
    return { row, event: (message) => ({ type: 'message.edited', conversationId, seq: version, message }) };
  });
}

/** Authors delete their messages; owners and admins delete any in their channel. */
export async function deleteMessage(
  s: ChatServices,
  caller: Caller,
  conversationId: string,
  messageId: string,
): Promise<ChatMessage> {
  const { member } = await memberAccess(s.db, caller, conversationId);
  const current = await live(s.db, caller, conversationId, messageId);
  if (current.author_id !== caller.userId && member.role === 'member') throw chatError('CHAT_NOT_AUTHOR');
  return change(s, caller, conversationId, async (tx, version) => {
    const row = await tombstoneMessage(tx, messageId, version);
    return { row, event: (message) => ({ type: 'message.deleted', conversationId, seq: version, message }) };
  });
}

export async function react(
  s: ChatServices,
  caller: Caller,
  conversationId: string,
  messageId: string,
  emoji: string,
  add: boolean,
): Promise<ChatMessage> {
  if (!isEmoji(emoji)) throw chatError('CHAT_INVALID_EMOJI');
  const { conversation } = await memberAccess(s.db, caller, conversationId);
  if (conversation.archived_at !== null) throw chatError('CHAT_ARCHIVED');
  await live(s.db, caller, conversationId, messageId);
  const unchanged = Symbol('unchanged');
  // The conversation's lock first, as every other change takes it: no lock-order deadlock with a delete.
  const version = await s.db
    .transaction(async (tx) => {
      const next = await nextSeq(tx, caller.tenantId, conversationId);
      const changed = add
        ? await addReaction(tx, messageId, caller.userId, emoji)
        : await removeReaction(tx, messageId, caller.userId, emoji);
      // PUT and DELETE are idempotent: repeating one changes nothing, announces nothing, takes no number.
      if (!changed) throw unchanged;
      await bumpVersion(tx, messageId, next);
      return next;
    })
    .catch((err: unknown) => {
      if (err === unchanged) return undefined;
      throw err;
    });
  if (version !== undefined) {
    publish(s, caller.tenantId, {
      type: add ? 'reaction.added' : 'reaction.removed',
      conversationId,
      seq: version,
      messageId,
      emoji,
      userId: caller.userId,
    });
  }
  const row = await live(s.db, caller, conversationId, messageId);
  return (await withReactions(s.db, [row]))[0] as ChatMessage;
}

export interface HistoryQuery {
  readonly before?: string | undefined;
  readonly after?: string | undefined;
  readonly since?: number | undefined;
  readonly thread?: string | undefined;
  readonly limit: number;
}

async function seqOf(s: ChatServices, caller: Caller, conversationId: string, id: string): Promise<number> {
  const row = await findMessage(s.db, caller.tenantId, conversationId, id);
  if (row === undefined)
    throw chatError('CHAT_INVALID_CURSOR', `${id} is not a message of this conversation`);
  return row.seq;
}

/**
 * History by message id cursors (`before`/`after`), or what changed `since` a
 * version (catch-up after a reconnect: creates, edits, deletes, reactions).
 * Messages older than the plan's history retention are not shown.
 */
export async function history(s: ChatServices, caller: Caller, conversationId: string, query: HistoryQuery) {
  const { conversation } = await memberAccess(s.db, caller, conversationId);
  const plan = await s.limits.entitlement(caller.tenantId);
  const notBefore =
    plan.historyRetentionDays === null
      ? undefined
      : new Date(Date.now() - plan.historyRetentionDays * 86_400_000);
  if (query.since !== undefined) {
    const page = await changedSince(s.db, caller.tenantId, conversationId, query.since, query.limit);
    const messages = await withReactions(s.db, page.rows);
    const last = messages[messages.length - 1]?.version ?? query.since;
    return {
      messages,
      hasMore: page.more,
      // Call again with this until hasMore is false; then keep it for the next reconnect. Every
      // number up to last_seq (read before the page) had committed when the page was read.
      since: page.more ? last : Math.max(last, conversation.last_seq),
      lastSeq: conversation.last_seq,
    };
  }
  const page = await pageMessages(s.db, caller.tenantId, conversationId, {
    before: query.before === undefined ? undefined : await seqOf(s, caller, conversationId, query.before),
    after: query.after === undefined ? undefined : await seqOf(s, caller, conversationId, query.after),
    thread: query.thread,
    limit: query.limit,
    notBefore,
  });
  const messages = await withReactions(s.db, page.rows);
  return { messages, hasMore: page.more, lastSeq: conversation.last_seq };
}

export async function search(
  s: ChatServices,
  caller: Caller,
  text: string,
  limit: number,
  conversationId?: string,
): Promise<ChatMessage[]> {
  const rows = await searchMessages(s.db, caller.tenantId, caller.userId, text, limit, conversationId);
  return withReactions(s.db, rows);
}
