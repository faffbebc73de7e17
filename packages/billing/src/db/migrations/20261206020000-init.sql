-- The billing service's first schema. Never edit this file once it has landed: add a new migration.
-- Money is bigint minor units with its currency; never a float.

create table subscriptions (
  tenant_id text primary key,
  plan_id text not null check (plan_id in ('free', 'standard', 'premium')),
  catalogue_version integer not null,
  status text not null check (status in ('incomplete', 'trialing', 'active', 'past_due', 'canceled')),
  period_start timestamptz not null,
  period_end timestamptz not null,
  cancel_at_period_end boolean not null default false,
  pending_plan_id text check (pending_plan_id in ('free', 'standard', 'premium')),
  grace_ends_at timestamptz,
  trial_used boolean not null default false,
  end_reason text,
  version bigint not null,
  -- When time next changes something (period end, grace end); the scheduler's index.
  next_due_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index subscriptions_due_idx on subscriptions (next_due_at) where next_due_at is not null;

-- The provider's customer of each tenant.
create table customers (
  tenant_id text not null,
  provider text not null,
  customer_id text not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, provider)
);

create table invoices (
  id uuid primary key,
  tenant_id text not null,
  kind text not null check (kind in ('initial', 'renewal', 'upgrade')),
  status text not null check (status in ('open', 'paid', 'void', 'uncollectible')),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  total bigint not null,
  amount_due bigint not null check (amount_due >= 0),
  plan_id text not null,
  period_start timestamptz not null,
  period_end timestamptz not null,
  provider text not null,
  payment_id text,
  failure_code text,
  created_at timestamptz not null,
  paid_at timestamptz
);
create index invoices_tenant_idx on invoices (tenant_id, created_at desc);
create index invoices_payment_idx on invoices (payment_id) where payment_id is not null;

create table invoice_lines (
  invoice_id uuid not null references invoices (id) on delete cascade,
  position integer not null,
  description text not null,
  plan_id text not null,
  amount bigint not null,
  period_start timestamptz not null,
  period_end timestamptz not null,
  proration boolean not null,
  primary key (invoice_id, position)
);

-- Each provider event once: a duplicate delivery finds its id here and changes nothing.
create table webhook_events (
  provider text not null,
  event_id text not null,
  type text not null,
  created_at timestamptz not null,
  received_at timestamptz not null default now(),
  outcome text,
  primary key (provider, event_id)
);

-- Idempotency-Key of every POST: a retry gets the first answer, another body with the key is refused.
create table idempotency_keys (
  scope text not null,
  key text not null,
  request_hash text not null,
  status text not null check (status in ('running', 'done')),
  response_status integer,
  response_body jsonb,
  created_at timestamptz not null default now(),
  primary key (scope, key)
);

create table audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null,
  actor text not null,
  tenant_id text,
  action text not null,
  request_id text,
  detail jsonb not null default '{}'
);
create index audit_log_tenant_idx on audit_log (tenant_id, id);

-- Messages sent per tenant per billing period (reported by chat).
create table usage_counters (
  tenant_id text not null,
  period_start timestamptz not null,
  messages bigint not null default 0,
  primary key (tenant_id, period_start)
);

-- The entitlement record last written for each tenant (republished when the store missed it).
create table entitlements (
  tenant_id text primary key,
  record jsonb not null,
  version bigint not null,
  published boolean not null default false,
  updated_at timestamptz not null default now()
);
