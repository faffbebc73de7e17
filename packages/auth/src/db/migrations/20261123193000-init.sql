-- The identity service's first schema. Never edit this file once it has landed: add a new migration.

create table users (
  id uuid primary key,
  email text not null,
  email_normalized text not null unique,
  name text not null,
  password_hash text not null,
  status text not null default 'active' check (status in ('active', 'disabled')),
  email_verified_at timestamptz,
  -- Access tokens with iat before this (unix seconds) are revoked.
  tokens_valid_after bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table tenants (
  id uuid primary key,
  name text not null,
  created_at timestamptz not null default now()
);

create table memberships (
  tenant_id uuid not null references tenants (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'member')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, user_id)
);
create index memberships_user_idx on memberships (user_id);

create table refresh_tokens (
  id uuid primary key,
  family_id uuid not null,
  parent_id uuid,
  user_id uuid not null references users (id) on delete cascade,
  tenant_id uuid not null references tenants (id) on delete cascade,
  token_hash text not null unique,
  access_jti text not null,
  access_exp bigint not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  retried boolean not null default false,
  revoked_at timestamptz,
  revoked_reason text
);
create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_user_idx on refresh_tokens (user_id);

-- The revocation feed the gateway follows (and Redis pub/sub carries when configured).
create table revocations (
  seq bigint generated always as identity primary key,
  kind text not null check (kind in ('jti', 'user', 'tenant')),
  subject text not null,
  -- jti: the token's exp; user/tenant: notBefore (unix seconds).
  at bigint not null,
  created_at timestamptz not null default now()
);

create table throttles (
  key text primary key,
  failures integer not null,
  window_started_at timestamptz not null,
  locked_until timestamptz
);

create table one_time_tokens (
  token_hash text primary key,
  purpose text not null check (purpose in ('password_reset', 'email_verify')),
  user_id uuid not null references users (id) on delete cascade,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);

create table invitations (
  id uuid primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  email_normalized text not null,
  role text not null check (role in ('owner', 'admin', 'member')),
  token_hash text not null unique,
  invited_by uuid not null references users (id) on delete cascade,
  expires_at timestamptz not null,
  accepted_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index invitations_tenant_idx on invitations (tenant_id);

-- Development outbox: mail that would have gone through SMTP.
create table outbox (
  id bigint generated always as identity primary key,
  recipient text not null,
  subject text not null,
  body text not null,
  created_at timestamptz not null default now()
);

create table audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  event text not null,
  user_id uuid,
  tenant_id uuid,
  ip text,
  request_id text,
  detail jsonb not null default '{}'::jsonb
);
create index audit_log_user_idx on audit_log (user_id, at);
