import type { ChatMessage } from '@gatehouse/kit';
import type { Queryable } from '@gatehouse/kit/service';

export interface MessageRow {
  id: string;
  tenant_id: string;
  conversation_id: string;
  seq: number;
  version: number;
  author_id: string;
  body: string;
  parent_id: string | null;
  mentions: string[];
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
}

function columns(t = ''): string {
  return `${t}id, ${t}tenant_id, ${t}conversation_id, ${t}seq::float8 as seq, ${t}version::float8 as version,
    ${t}author_id, ${t}body, ${t}parent_id, ${t}mentions, ${t}created_at, ${t}edited_at, ${t}deleted_at`;
}
const COLUMNS = columns();

export async function insertMessage(
  q: Queryable,
  m: Pick<
    MessageRow,
    'id' | 'tenant_id' | 'conversation_id' | 'seq' | 'author_id' | 'body' | 'parent_id' | 'mentions'
  >,
): Promise<MessageRow> {
  const r = await q.query<MessageRow>(
    `insert into chat_messages (id, tenant_id, conversation_id, seq, version, author_id, body, parent_id, mentions)
     values ($1, $2, $3, $4, $4, $5, $6, $7, $8::text[]) returning ${COLUMNS}`,
    [m.id, m.tenant_id, m.conversation_id, m.seq, m.author_id, m.body, m.parent_id, m.mentions],
  );
  return r.rows[0] as MessageRow;
}

export async function findMessage(
  q: Queryable,
  tenantId: string,
  conversationId: string,
  id: string,
): Promise<MessageRow | undefined> {
  const r = await q.query<MessageRow>(
    `select ${COLUMNS} from chat_messages where tenant_id = $1 and conversation_id = $2 and id = $3`,
    [tenantId, conversationId, id],
  );
  return r.rows[0];
}

export async function findMessageById(q: Queryable, tenantId: string, id: string) {
  const r = await q.query<MessageRow>(
    `select ${COLUMNS} from chat_messages where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  return r.rows[0];
}

export async function editMessage(
  q: Queryable,
  id: string,
  version: number,
  body: string,
  mentions: readonly string[],
): Promise<MessageRow> {
  const r = await q.query<MessageRow>(
    `update chat_messages set body = $3, mentions = $4::text[], version = $2, edited_at = now()
      where id = $1 returning ${COLUMNS}`,
    [id, version, body, mentions],
  );
  return r.rows[0] as MessageRow;
}

/** The tombstone keeps the message's place (and its thread) but not its words, mentions or reactions. */
export async function tombstoneMessage(q: Queryable, id: string, version: number): Promise<MessageRow> {
  await q.query('delete from chat_reactions where message_id = $1', [id]);
  const r = await q.query<MessageRow>(
    `update chat_messages set body = '', mentions = '{}', version = $2, deleted_at = now()
      where id = $1 returning ${COLUMNS}`,
    [id, version],
  );
  return r.rows[0] as MessageRow;
}

export async function bumpVersion(q: Queryable, id: string, version: number): Promise<void> {
  await q.query('update chat_messages set version = $2 where id = $1', [id, version]);
}

export interface PageQuery {
  readonly before?: number | undefined;
  readonly after?: number | undefined;
  readonly thread?: string | undefined;
  readonly limit: number;
  /** Messages created before this time are hidden (the plan's history retention). */
  readonly notBefore?: Date | undefined;
}

/**
 * One page of history by sequence number: before a message (newest first,
 * returned oldest first), after one (oldest first), or the newest page.
 * Reads one row more than asked to tell whether there are more.
 */
export async function pageMessages(
  q: Queryable,
  tenantId: string,
  conversationId: string,
  page: PageQuery,
): Promise<{ rows: MessageRow[]; more: boolean }> {
  const params: unknown[] = [tenantId, conversationId, page.limit + 1];
  const where = ['tenant_id = $1', 'conversation_id = $2'];
  const add = (condition: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(condition(`$${params.length}`));
  };
  if (page.thread !== undefined) add((p) => `(id = ${p} or parent_id = ${p})`, page.thread);
  if (page.notBefore !== undefined) add((p) => `created_at >= ${p}`, page.notBefore);
  const forward = page.after !== undefined;
  if (page.before !== undefined) add((p) => `seq < ${p}`, page.before);
  if (page.after !== undefined) add((p) => `seq > ${p}`, page.after);
  const sql = `select ${COLUMNS} from chat_messages where ${where.join(' and ')}
    order by seq ${forward ? 'asc' : 'desc'} limit $3`;
  const r = await q.query<MessageRow>(sql, params as never[]);
  const more = r.rows.length > page.limit;
  const rows = r.rows.slice(0, page.limit);
  if (!forward) rows.reverse();
  return { rows, more };
}

/** What changed after `version` (creates, edits, deletes, reactions), in change order. */
export async function changedSince(
  q: Queryable,
  tenantId: string,
  conversationId: string,
  version: number,
  limit: number,
): Promise<{ rows: MessageRow[]; more: boolean }> {
  const r = await q.query<MessageRow>(
    `select ${COLUMNS} from chat_messages where tenant_id = $1 and conversation_id = $2 and version > $3
      order by version asc limit $4`,
    [tenantId, conversationId, version, limit + 1],
  );
  return { rows: r.rows.slice(0, limit), more: r.rows.length > limit };
}

export async function reactionsOf(
  q: Queryable,
  messageIds: readonly string[],
): Promise<Map<string, Record<string, string[]>>> {
  const out = new Map<string, Record<string, string[]>>();
  if (messageIds.length === 0) return out;
  const r = await q.query<{ message_id: string; emoji: string; user_id: string }>(
    `select message_id, emoji, user_id from chat_reactions where message_id = any ($1::uuid[])
      order by created_at, user_id`,
    [messageIds],
  );
  for (const row of r.rows) {
    const byEmoji = out.get(row.message_id) ?? {};
    const users = byEmoji[row.emoji] ?? [];
    users.push(row.user_id);
    byEmoji[row.emoji] = users;
    out.set(row.message_id, byEmoji);
  }
  return out;
}

export async function addReaction(q: Queryable, messageId: string, userId: string, emoji: string) {
  const r = await q.query(
    'insert into chat_reactions (message_id, user_id, emoji) values ($1, $2, $3) on conflict do nothing',
    [messageId, userId, emoji],
  );
  return r.rowCount === 1;
}

export async function removeReaction(q: Queryable, messageId: string, userId: string, emoji: string) {
  const r = await q.query(
    'delete from chat_reactions where message_id = $1 and user_id = $2 and emoji = $3',
    [messageId, userId, emoji],
  );
  return r.rowCount === 1;
}

/**
 * Full-text search over the conversations the user belongs to (the GIN index
 * finds the matches; the membership join keeps them to the caller's).
 */
export async function searchMessages(
  q: Queryable,
  tenantId: string,
  userId: string,
  text: string,
  limit: number,
  conversationId?: string,
): Promise<MessageRow[]> {
  const r = await q.query<MessageRow>(
    `select ${columns('x.')} from chat_messages x
       join chat_members m on m.conversation_id = x.conversation_id and m.user_id = $2 and m.tenant_id = $1
      where x.tenant_id = $1 and x.deleted_at is null
        and x.search @@ plainto_tsquery('simple', $3)
        and ($5::uuid is null or x.conversation_id = $5)
      order by x.created_at desc limit $4`,
    [tenantId, userId, text, limit, conversationId ?? null],
  );
  return r.rows;
}

export async function countTenantMessagesSince(q: Queryable, tenantId: string, since: Date): Promise<number> {
  const r = await q.query<{ n: number }>(
    'select count(*)::int as n from chat_messages where tenant_id = $1 and created_at >= $2',
    [tenantId, since],
  );
  return r.rows[0]?.n ?? 0;
}

export function toMessage(row: MessageRow, reactions: Record<string, string[]> = {}): ChatMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    authorId: row.author_id,
    body: row.body,
    parentId: row.parent_id,
    mentions: row.mentions,
    reactions: row.deleted_at === null ? reactions : {},
    seq: row.seq,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    editedAt: row.edited_at?.toISOString() ?? null,
    deletedAt: row.deleted_at?.toISOString() ?? null,
  };
}

export async function withReactions(q: Queryable, rows: readonly MessageRow[]): Promise<ChatMessage[]> {
  const reactions = await reactionsOf(
    q,
    rows.map((r) => r.id),
  );
  return rows.map((row) => toMessage(row, reactions.get(row.id)));
}
