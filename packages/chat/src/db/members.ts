import type { Queryable } from '@gatehouse/kit/service';

export type MemberRole = 'owner' | 'admin' | 'member';

export interface MemberRow {
  conversation_id: string;
  user_id: string;
  role: MemberRole;
  joined_at: Date;
  last_read_seq: number;
}

const COLUMNS = 'conversation_id, user_id, role, joined_at, last_read_seq::float8 as last_read_seq';

export async function findMember(
  q: Queryable,
  tenantId: string,
  conversationId: string,
  userId: string,
): Promise<MemberRow | undefined> {
  const r = await q.query<MemberRow>(
    `select ${COLUMNS} from chat_members where tenant_id = $1 and conversation_id = $2 and user_id = $3`,
    [tenantId, conversationId, userId],
  );
  return r.rows[0];
}

/** True when the member was added (false: already a member). */
export async function addMember(
  q: Queryable,
  tenantId: string,
  conversationId: string,
  userId: string,
  role: MemberRole,
  lastReadSeq = 0,
): Promise<boolean> {
  const r = await q.query(
    `insert into chat_members (conversation_id, tenant_id, user_id, role, last_read_seq)
     values ($1, $2, $3, $4, $5) on conflict do nothing`,
    [conversationId, tenantId, userId, role, lastReadSeq],
  );
  return r.rowCount === 1;
}

export async function removeMember(
  q: Queryable,
  tenantId: string,
  conversationId: string,
  userId: string,
): Promise<boolean> {
  const r = await q.query(
    'delete from chat_members where tenant_id = $1 and conversation_id = $2 and user_id = $3',
    [tenantId, conversationId, userId],
  );
  return r.rowCount === 1;
}

export async function setRole(
  q: Queryable,
  tenantId: string,
  conversationId: string,
  userId: string,
  role: MemberRole,
): Promise<boolean> {
  const r = await q.query(
    'update chat_members set role = $4 where tenant_id = $1 and conversation_id = $2 and user_id = $3',
    [tenantId, conversationId, userId, role],
  );
  return r.rowCount === 1;
}

export async function listMembers(
  q: Queryable,
  tenantId: string,
  conversationId: string,
): Promise<MemberRow[]> {
  const r = await q.query<MemberRow>(
    `select ${COLUMNS} from chat_members where tenant_id = $1 and conversation_id = $2 order by joined_at, user_id`,
    [tenantId, conversationId],
  );
  return r.rows;
}

export async function countOwners(q: Queryable, tenantId: string, conversationId: string): Promise<number> {
  const r = await q.query<{ n: number }>(
    `select count(*)::int as n from chat_members where tenant_id = $1 and conversation_id = $2 and role = 'owner'`,
    [tenantId, conversationId],
  );
  return r.rows[0]?.n ?? 0;
}

/** Moves the read marker forward only (a late, older marker never moves it back). */
export async function moveReadMarker(
  q: Queryable,
  tenantId: string,
  conversationId: string,
  userId: string,
  seq: number,
): Promise<number | undefined> {
  const r = await q.query<{ last_read_seq: number }>(
    `update chat_members set last_read_seq = greatest(last_read_seq, $4)
      where tenant_id = $1 and conversation_id = $2 and user_id = $3
      returning last_read_seq::float8 as last_read_seq`,
    [tenantId, conversationId, userId, seq],
  );
  return r.rows[0]?.last_read_seq;
}

/** The conversation ids a user belongs to (the socket's subscriptions). */
export async function conversationIdsOf(q: Queryable, tenantId: string, userId: string): Promise<string[]> {
  const r = await q.query<{ conversation_id: string }>(
    'select conversation_id from chat_members where tenant_id = $1 and user_id = $2',
    [tenantId, userId],
  );
  return r.rows.map((row) => row.conversation_id);
}

/** Which of `userIds` are members (to keep only mentions of members). */
export async function membersAmong(
  q: Queryable,
  conversationId: string,
  userIds: readonly string[],
): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const r = await q.query<{ user_id: string }>(
    'select user_id from chat_members where conversation_id = $1 and user_id = any ($2::text[])',
    [conversationId, userIds],
  );
  return new Set(r.rows.map((row) => row.user_id));
}
