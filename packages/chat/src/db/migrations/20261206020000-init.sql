-- The chat service's data. Every row carries its tenant, and every query names
-- the tenant of the caller's verified identity: an id from another tenant
-- never resolves.

create table chat_conversations (
  id uuid primary key,
  tenant_id text not null,
  kind text not null check (kind in ('public', 'private', 'direct')),
  name text,
  topic text not null default '',
  -- Direct conversations only: the sorted member ids joined by ',', so the
  -- same members find their conversation again.
  member_key text,
  created_by text not null,
  created_at timestamptz not null default now(),
  archived_at timestamptz,
  -- The conversation's sequence: every stored change (message, edit, delete,
  -- reaction) takes the next number under this row's lock, so numbers are
  -- handed out in commit order and a reader paging by them never skips a
  -- message that committed late.
  last_seq bigint not null default 0,
  check ((kind = 'direct') = (member_key is not null)),
  check (kind = 'direct' or name is not null)
);
-- "Find the direct conversation of these members" and its uniqueness.
create unique index chat_conversations_direct on chat_conversations (tenant_id, member_key)
  where kind = 'direct';
-- Channel names are unique in a tenant, whatever their case; also the public channel list.
create unique index chat_conversations_name on chat_conversations (tenant_id, lower(name))
  where kind <> 'direct';

create table chat_members (
  conversation_id uuid not null references chat_conversations (id) on delete cascade,
  tenant_id text not null,
  user_id text not null,
  role text not null check (role in ('owner', 'admin', 'member')),
  joined_at timestamptz not null default now(),
  -- The member's read marker: the last sequence number they have read.
  last_read_seq bigint not null default 0,
  primary key (conversation_id, user_id)
);
-- The conversation list: a user's conversations in a tenant.
create index chat_members_user on chat_members (tenant_id, user_id);

create table chat_messages (
  id uuid primary key,
  tenant_id text not null,
  conversation_id uuid not null references chat_conversations (id) on delete cascade,
  seq bigint not null,
  version bigint not null,
  author_id text not null,
  body text not null,
  parent_id uuid references chat_messages (id),
  mentions text[] not null default '{}',
  created_at timestamptz not null default now(),
  edited_at timestamptz,
  deleted_at timestamptz,
  search tsvector generated always as (to_tsvector('simple', body)) stored,
  unique (conversation_id, seq)
);
-- History pages (before/after a message) and unread counts (seq > the read
-- marker) walk the unique (conversation_id, seq) index above.
-- Catch-up (`since`): what changed after a version, in change order.
create index chat_messages_version on chat_messages (conversation_id, version);
-- Thread replies of a message.
create index chat_messages_parent on chat_messages (parent_id) where parent_id is not null;
-- Full-text search (GIN over the stored tsvector); the query is then
-- restricted to the caller's conversations.
create index chat_messages_search on chat_messages using gin (search);
-- The tenant's messages in the quota period.
create index chat_messages_tenant_time on chat_messages (tenant_id, created_at);

create table chat_reactions (
  message_id uuid not null references chat_messages (id) on delete cascade,
  user_id text not null,
  emoji text not null,
  created_at timestamptz not null default now(),
  primary key (message_id, emoji, user_id)
);

-- A retried send (same user, same Idempotency-Key) finds its first answer.
create table chat_idempotency (
  tenant_id text not null,
  user_id text not null,
  key text not null,
  fingerprint text not null,
  message_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, user_id, key)
);
create index chat_idempotency_created on chat_idempotency (created_at);
