-- Mail is written to the outbox in the transaction that causes it and relayed
-- to SMTP after commit (when SMTP is configured): delivery state per message.
alter table outbox add column sent_at timestamptz;
alter table outbox add column attempts integer not null default 0;
alter table outbox add column last_error text;
create index outbox_unsent on outbox (id) where sent_at is null;
