import type { Queryable } from '@gatehouse/kit/service';

export type ConversationKind = 'public' | 'private' | 'direct';

export interface ConversationRow {
  id: string;
  tenant_id: string;
  kind: ConversationKind;
  name: string | null;
  topic: string;
  member_key: string | null;
  created_by: string;
  created_at: Date;
  archived_at: Date | null;
  last_seq: number;
}

const COLUMNS = `id, tenant_id, kind, name, topic, member_key, created_by, created_at, archived_at,
  last_seq::float8 as last_seq`;

export async function insertConversation(
  q: Queryable,
  c: Pick<ConversationRow, 'id' | 'tenant_id' | 'kind' | 'name' | 'topic' | 'member_key' | 'created_by'>,
): Promise<ConversationRow | undefined> {
  // A concurrent create of the same direct conversation or channel name loses quietly; the caller looks again.
  const r = await q.query<ConversationRow>(
    `insert into chat_conversations (id, tenant_id, kind, name, topic, member_key, created_by)
     values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing returning ${COLUMNS}`,
    [c.id, c.tenant_id, c.kind, c.name, c.topic, c.member_key, c.created_by],
  );
  return r.rows[0];
}

/** Always with the tenant: an id from another tenant is not found. */
export async function findConversation(
  q: Queryable,
  tenantId: string,
  id: string,
): Promise<ConversationRow | undefined> {
  const r = await q.query<ConversationRow>(
    `select ${COLUMNS} from chat_conversations where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  return r.rows[0];
}

export async function findDirect(
  q: Queryable,
  tenantId: string,
  memberKey: string,
): Promise<ConversationRow | undefined> {
  const r = await q.query<ConversationRow>(
    `select ${COLUMNS} from chat_conversations where tenant_id = $1 and kind = 'direct' and member_key = $2`,
    [tenantId, memberKey],
  );
  return r.rows[0];
}

export async function findChannelByName(
  q: Queryable,
  tenantId: string,
  name: string,
): Promise<ConversationRow | undefined> {
  const r = await q.query<ConversationRow>(
    `select ${COLUMNS} from chat_conversations where tenant_id = $1 and kind <> 'direct' and lower(name) = lower($2)`,
    [tenantId, name],
  );
  return r.rows[0];
}

/**
 * The next sequence number of a conversation. It locks the conversation's row
 * until the caller's transaction ends: numbers are taken in commit order.
 */
export async function nextSeq(q: Queryable, tenantId: string, id: string): Promise<number> {
  const r = await q.query<{ last_seq: number }>(
    `update chat_conversations set last_seq = last_seq + 1 where tenant_id = $1 and id = $2
     returning last_seq::float8 as last_seq`,
    [tenantId, id],
  );
  const row = r.rows[0];
  if (row === undefined) throw new Error('nextSeq: conversation vanished');
  return row.last_seq;
}

export async function updateConversation(
  q: Queryable,
  tenantId: string,
  id: string,
  changes: { name?: string | undefined; topic?: string | undefined; archived?: boolean | undefined },
): Promise<ConversationRow | undefined> {
  const r = await q.query<ConversationRow>(
    `update chat_conversations set
       name = coalesce($3, name),
       topic = coalesce($4, topic),
       archived_at = case when $5::boolean is null then archived_at when $5 then coalesce(archived_at, now()) else null end
     where tenant_id = $1 and id = $2 returning ${COLUMNS}`,
    [tenantId, id, changes.name ?? null, changes.topic ?? null, changes.archived ?? null],
  );
  return r.rows[0];
}

export interface ListedConversation extends ConversationRow {
  role: 'owner' | 'admin' | 'member';
  last_read_seq: number;
  unread: number;
  mentions: number;
}

/**
 * The user's conversations with their unread and mention counts: messages
 * after the read marker, not deleted, not their own (walks the
 * (conversation_id, seq) index from the marker). Mentions are read from the
 * message as it is now, so an edit that removes a mention removes the count.
 */
export async function listConversationsOf(
  q: Queryable,
  tenantId: string,
  userId: string,
): Promise<ListedConversation[]> {
  const r = await q.query<ListedConversation>(
    `select c.id, c.tenant_id, c.kind, c.name, c.topic, c.member_key, c.created_by, c.created_at,
            c.archived_at, c.last_seq::float8 as last_seq, m.role, m.last_read_seq::float8 as last_read_seq,
            (select count(*) from chat_messages x
              where x.conversation_id = c.id and x.seq > m.last_read_seq
                and x.deleted_at is null and x.author_id <> m.user_id)::int as unread,
            (select count(*) from chat_messages x
              where x.conversation_id = c.id and x.seq > m.last_read_seq
                and x.deleted_at is null and x.author_id <> m.user_id and m.user_id = any (x.mentions))::int as mentions
       from chat_members m join chat_conversations c on c.id = m.conversation_id
      where m.tenant_id = $1 and m.user_id = $2 and c.tenant_id = $1
      order by c.last_seq desc, c.created_at desc`,
    [tenantId, userId],
  );
  return r.rows;
}

export async function listPublicChannels(q: Queryable, tenantId: string): Promise<ConversationRow[]> {
  const r = await q.query<ConversationRow>(
    `select ${COLUMNS} from chat_conversations where tenant_id = $1 and kind = 'public' and archived_at is null
      order by lower(name) limit 1000`,
    [tenantId],
  );
  return r.rows;
}

/** The conversation and the user's membership of it (undefined when not a member), in one round trip. */
export async function findConversationFor(
  q: Queryable,
  tenantId: string,
  id: string,
  userId: string,
): Promise<
  | {
      conversation: ConversationRow;
      role: 'owner' | 'admin' | 'member' | null;
      last_read_seq: number | null;
      joined_at: Date | null;
    }
  | undefined
> {
  const r = await q.query<
    ConversationRow & {
      role: 'owner' | 'admin' | 'member' | null;
      last_read_seq: number | null;
      joined_at: Date | null;
    }
  >(
    `select c.id, c.tenant_id, c.kind, c.name, c.topic, c.member_key, c.created_by, c.created_at, c.archived_at,
            c.last_seq::float8 as last_seq, m.role, m.last_read_seq::float8 as last_read_seq, m.joined_at
       from chat_conversations c
       left join chat_members m on m.conversation_id = c.id and m.user_id = $3 and m.tenant_id = $1
      where c.tenant_id = $1 and c.id = $2`,
    [tenantId, id, userId],
  );
  const row = r.rows[0];
  if (row === undefined) return undefined;
  const { role, last_read_seq, joined_at, ...conversation } = row;
  return { conversation, role, last_read_seq, joined_at };
}
