import { randomUUID } from 'node:crypto';
import type { ChatEvent } from '@gatehouse/kit';
import type { Queryable } from '@gatehouse/kit/service';
import {
  type ConversationRow,
  findChannelByName,
  findConversationFor,
  findDirect,
  insertConversation,
  type ListedConversation,
  listConversationsOf,
  listPublicChannels,
  updateConversation,
} from '../db/conversations.ts';
import {
  addMember,
  countOwners,
  findMember,
  listMembers,
  type MemberRole,
  type MemberRow,
  moveReadMarker,
  removeMember,
  setRole,
} from '../db/members.ts';
import { chatError } from '../errors.ts';
import { type Caller, type ChatServices, publish } from './services.ts';

export interface ConversationView {
  readonly id: string;
  readonly kind: ConversationRow['kind'];
  readonly name: string | null;
  readonly topic: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly archivedAt: string | null;
  /** The conversation's last sequence number: compare with your `since` cursor. */
  readonly lastSeq: number;
  /** Direct conversations: the members. */
  readonly members?: readonly string[];
}

export function view(c: ConversationRow): ConversationView {
  return {
    id: c.id,
    kind: c.kind,
    name: c.name,
    topic: c.topic,
    createdBy: c.created_by,
    createdAt: c.created_at.toISOString(),
    archivedAt: c.archived_at?.toISOString() ?? null,
    lastSeq: c.last_seq,
    ...(c.member_key === null ? {} : { members: c.member_key.split(',') }),
  };
}

export interface Access {
  readonly conversation: ConversationRow;
  readonly member: MemberRow | undefined;
}

/**
 * The conversation as the caller may see it: in their tenant, and either a
 * member or a public channel. A private or direct conversation of which the
 * caller is not a member does not exist for them (404, so ids do not leak).
 */
export async function access(q: Queryable, caller: Caller, conversationId: string): Promise<Access> {
  const found = await findConversationFor(q, caller.tenantId, conversationId, caller.userId);
  if (found === undefined) throw chatError('CHAT_CONVERSATION_NOT_FOUND');
  const { conversation } = found;
  const member: MemberRow | undefined =
    found.role === null
      ? undefined
      : {
          conversation_id: conversation.id,
          user_id: caller.userId,
          role: found.role,
          joined_at: found.joined_at as Date,
          last_read_seq: found.last_read_seq as number,
        };
  if (member === undefined && conversation.kind !== 'public') throw chatError('CHAT_CONVERSATION_NOT_FOUND');
  return { conversation, member };
}

/** A member (of any conversation the caller can see), or 403 for a public channel they have not joined. */
export async function memberAccess(q: Queryable, caller: Caller, conversationId: string) {
  const a = await access(q, caller, conversationId);
  if (a.member === undefined) throw chatError('CHAT_NOT_A_MEMBER', 'join the channel first');
  return { conversation: a.conversation, member: a.member };
}

function notArchived(c: ConversationRow): void {
  if (c.archived_at !== null) throw chatError('CHAT_ARCHIVED');
}

const isManager = (m: MemberRow) => m.role === 'owner' || m.role === 'admin';

export async function createChannel(
  s: ChatServices,
  caller: Caller,
  input: {
    kind: 'public' | 'private';
    name: string;
    topic?: string | undefined;
    members?: string[] | undefined;
  },
): Promise<ConversationView> {
  const others = [...new Set(input.members ?? [])].filter((u) => u !== caller.userId);
  const events: ChatEvent[] = [];
  const created = await s.db.transaction(async (tx) => {
    const row = await insertConversation(tx, {
      id: randomUUID(),
      tenant_id: caller.tenantId,
      kind: input.kind,
      name: input.name,
      topic: input.topic ?? '',
      member_key: null,
      created_by: caller.userId,
    });
    if (row === undefined) throw chatError('CHAT_NAME_TAKEN', `a channel named "${input.name}" exists`);
    await addMember(tx, caller.tenantId, row.id, caller.userId, 'owner');
    events.push({ type: 'member.joined', conversationId: row.id, userId: caller.userId, role: 'owner' });
    for (const userId of others) {
      await addMember(tx, caller.tenantId, row.id, userId, 'member');
      events.push({ type: 'member.joined', conversationId: row.id, userId, role: 'member' });
    }
    return row;
  });
  publish(s, caller.tenantId, ...events);
  return view(created);
}

/**
 * The direct conversation of exactly these members (the caller included):
 * found again when it exists, created otherwise. `created` tells which.
 */
export async function openDirect(
  s: ChatServices,
  caller: Caller,
  memberIds: readonly string[],
): Promise<{ conversation: ConversationView; created: boolean }> {
  const members = [...new Set([caller.userId, ...memberIds])].sort();
  if (members.length > s.config.maxDirectMembers) {
    throw chatError(
      'CHAT_VALIDATION',
      `a direct conversation has at most ${s.config.maxDirectMembers} members`,
    );
  }
  const key = members.join(',');
  const found = await findDirect(s.db, caller.tenantId, key);
  if (found !== undefined) return { conversation: view(found), created: false };
  const events: ChatEvent[] = [];
  const made = await s.db.transaction(async (tx) => {
    const row = await insertConversation(tx, {
      id: randomUUID(),
      tenant_id: caller.tenantId,
      kind: 'direct',
      name: null,
      topic: '',
      member_key: key,
      created_by: caller.userId,
    });
    if (row === undefined) return undefined;
    for (const userId of members) {
      await addMember(tx, caller.tenantId, row.id, userId, 'member');
      events.push({ type: 'member.joined', conversationId: row.id, userId, role: 'member' });
    }
    return row;
  });
  if (made === undefined) {
    // Another request created it at the same moment: that one is ours too.
    const again = await findDirect(s.db, caller.tenantId, key);
    if (again === undefined) throw new Error('direct conversation vanished');
    return { conversation: view(again), created: false };
  }
  publish(s, caller.tenantId, ...events);
  return { conversation: view(made), created: true };
}

export interface ListedView extends ConversationView {
  readonly role: MemberRole;
  readonly lastReadSeq: number;
  readonly unread: number;
  readonly mentions: number;
}

export async function listMine(s: ChatServices, caller: Caller): Promise<ListedView[]> {
  const rows = await listConversationsOf(s.db, caller.tenantId, caller.userId);
  return rows.map((r: ListedConversation) => ({
    ...view(r),
    role: r.role,
    lastReadSeq: r.last_read_seq,
    unread: r.unread,
    mentions: r.mentions,
  }));
}

export async function listPublic(s: ChatServices, caller: Caller): Promise<ConversationView[]> {
  return (await listPublicChannels(s.db, caller.tenantId)).map(view);
}

export async function getConversation(s: ChatServices, caller: Caller, id: string) {
  const a = await access(s.db, caller, id);
  return { ...view(a.conversation), role: a.member?.role ?? null };
}

export async function updateChannel(
  s: ChatServices,
  caller: Caller,
  id: string,
  changes: { name?: string | undefined; topic?: string | undefined; archived?: boolean | undefined },
): Promise<ConversationView> {
  const { conversation, member } = await memberAccess(s.db, caller, id);
  if (conversation.kind === 'direct' && changes.name !== undefined) throw chatError('CHAT_DIRECT_FIXED');
  if (!isManager(member)) throw chatError('CHAT_ROLE_FORBIDDEN', 'owners and admins change a channel');
  if (changes.archived === undefined) notArchived(conversation);
  if (changes.name !== undefined) {
    const clash = await findChannelByName(s.db, caller.tenantId, changes.name);
    if (clash !== undefined && clash.id !== id) throw chatError('CHAT_NAME_TAKEN');
  }
  try {
    const row = await updateConversation(s.db, caller.tenantId, id, changes);
    if (row === undefined) throw chatError('CHAT_CONVERSATION_NOT_FOUND');
    return view(row);
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw chatError('CHAT_NAME_TAKEN');
    throw err;
  }
}

export async function join(s: ChatServices, caller: Caller, id: string): Promise<void> {
  const { conversation, member } = await access(s.db, caller, id);
  if (member !== undefined) return;
  notArchived(conversation);
  // Only a public channel is reachable here without membership (access() hides the rest).
  const added = await addMember(s.db, caller.tenantId, id, caller.userId, 'member', conversation.last_seq);
  if (added) {
    publish(s, caller.tenantId, {
      type: 'member.joined',
      conversationId: id,
      userId: caller.userId,
      role: 'member',
    });
  }
}

async function dropMember(s: ChatServices, caller: Caller, conversation: ConversationRow, target: MemberRow) {
  await s.db.transaction(async (tx) => {
    if (target.role === 'owner' && conversation.kind !== 'direct') {
      const members = await listMembers(tx, caller.tenantId, conversation.id);
      if ((await countOwners(tx, caller.tenantId, conversation.id)) <= 1 && members.length > 1) {
        throw chatError('CHAT_LAST_OWNER', 'make another member owner first');
      }
    }
    await removeMember(tx, caller.tenantId, conversation.id, target.user_id);
  });
  publish(s, caller.tenantId, {
    type: 'member.left',
    conversationId: conversation.id,
    userId: target.user_id,
  });
}

export async function leave(s: ChatServices, caller: Caller, id: string): Promise<void> {
  const { conversation, member } = await memberAccess(s.db, caller, id);
  if (conversation.kind === 'direct') throw chatError('CHAT_DIRECT_FIXED');
  await dropMember(s, caller, conversation, member);
}

export async function invite(
  s: ChatServices,
  caller: Caller,
  id: string,
  userId: string,
  role: MemberRole = 'member',
): Promise<boolean> {
  const { conversation, member } = await memberAccess(s.db, caller, id);
  if (conversation.kind === 'direct') throw chatError('CHAT_DIRECT_FIXED');
  notArchived(conversation);
  // Anyone in a public channel may bring others in; a private one is invitation by its managers.
  if (conversation.kind === 'private' && !isManager(member)) throw chatError('CHAT_ROLE_FORBIDDEN');
  if (role !== 'member' && member.role !== 'owner') throw chatError('CHAT_ROLE_FORBIDDEN');
  const added = await addMember(s.db, caller.tenantId, id, userId, role);
  if (added) publish(s, caller.tenantId, { type: 'member.joined', conversationId: id, userId, role });
  return added;
}

export async function remove(s: ChatServices, caller: Caller, id: string, userId: string): Promise<void> {
  const { conversation, member } = await memberAccess(s.db, caller, id);
  if (conversation.kind === 'direct') throw chatError('CHAT_DIRECT_FIXED');
  if (userId === caller.userId) return leave(s, caller, id);
  if (!isManager(member)) throw chatError('CHAT_ROLE_FORBIDDEN', 'owners and admins remove members');
  const target = await findMember(s.db, caller.tenantId, id, userId);
  if (target === undefined) throw chatError('CHAT_MEMBER_NOT_FOUND');
  if (target.role === 'owner' && member.role !== 'owner') throw chatError('CHAT_ROLE_FORBIDDEN');
  await dropMember(s, caller, conversation, target);
}

export async function changeRole(
  s: ChatServices,
  caller: Caller,
  id: string,
  userId: string,
  role: MemberRole,
) {
  const { conversation, member } = await memberAccess(s.db, caller, id);
  if (conversation.kind === 'direct') throw chatError('CHAT_DIRECT_FIXED');
  if (member.role !== 'owner') throw chatError('CHAT_ROLE_FORBIDDEN', 'owners change roles');
  await s.db.transaction(async (tx) => {
    const target = await findMember(tx, caller.tenantId, id, userId);
    if (target === undefined) throw chatError('CHAT_MEMBER_NOT_FOUND');
    if (target.role === 'owner' && role !== 'owner' && (await countOwners(tx, caller.tenantId, id)) <= 1) {
      throw chatError('CHAT_LAST_OWNER');
    }
    await setRole(tx, caller.tenantId, id, userId, role);
  });
}

export async function listConversationMembers(s: ChatServices, caller: Caller, id: string) {
  await memberAccess(s.db, caller, id);
  const rows = await listMembers(s.db, caller.tenantId, id);
  return rows.map((m) => ({ userId: m.user_id, role: m.role, joinedAt: m.joined_at.toISOString() }));
}

export async function markRead(s: ChatServices, caller: Caller, id: string, seq: number): Promise<number> {
  const { conversation } = await memberAccess(s.db, caller, id);
  const target = Math.min(seq, conversation.last_seq);
  const moved = await moveReadMarker(s.db, caller.tenantId, id, caller.userId, target);
  if (moved === undefined) throw chatError('CHAT_NOT_A_MEMBER');
  publish(s, caller.tenantId, {
    type: 'read.moved',
    conversationId: id,
    userId: caller.userId,
    lastReadSeq: moved,
  });
  return moved;
}
