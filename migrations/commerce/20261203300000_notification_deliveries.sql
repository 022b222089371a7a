-- Merchant webhooks and the delivery queue every notification channel uses.
--
-- `webhook_subscription`: a store's endpoints. The signing secret is sealed
-- with the master key (`whsec_…`, shown once at creation). Deleting one keeps
-- the row (`deleted_at`) so its delivery log still names it.
--
-- `notification_delivery`: one row per (event, channel, target), written by
-- the outbox relay in the transaction that marks the event published, so an
-- event is fanned out exactly once (the unique key makes a second fan-out a
-- no-op). The delivery job leases due rows (`leased_until`), sends outside any
-- transaction and records the outcome: `succeeded`, or one more attempt with
-- `next_attempt_at` from the retry schedule, or `dead` after the last one.
-- Dead letters are the rows with status `dead` (`notification_dead_letter`
-- index); staff replay them (pending again, attempts reset).
create table webhook_subscription (
    tenant_id      uuid not null,
    webhook_id     uuid not null,
    url            text not null check (length(url) between 1 and 2048),
    events         text[] not null check (cardinality(events) between 1 and 32),
    secret_sealed  text not null,
    created_at     timestamptz not null default now(),
    deleted_at     timestamptz,
    primary key (tenant_id, webhook_id)
);

create table notification_delivery (
    tenant_id        uuid not null,
    delivery_id      uuid not null,
    event_id         uuid not null,
    channel          text not null check (channel in ('webhook', 'email', 'sms')),
    -- A webhook's id, an email address or a phone number.
    target           text not null check (length(target) between 1 and 320),
    topic            text not null check (length(topic) between 1 and 64),
    payload          jsonb not null,
    status           text not null default 'pending' check (status in ('pending', 'succeeded', 'dead')),
    attempts         int not null default 0 check (attempts >= 0),
    next_attempt_at  timestamptz not null default now(),
    leased_until     timestamptz,
    last_error       text check (length(last_error) <= 1000),
    -- The HTTP (or SMTP) status of the last attempt that got an answer.
    last_status      int,
    created_at       timestamptz not null default now(),
    delivered_at     timestamptz,
    primary key (tenant_id, delivery_id),
    constraint notification_delivery_fanout_key unique (tenant_id, event_id, channel, target)
);

-- The delivery job's scan, across the stores of a cell.
create index notification_delivery_due_idx on notification_delivery (next_attempt_at) where status = 'pending';
-- A webhook's delivery log, newest first.
create index notification_delivery_target_idx on notification_delivery (tenant_id, channel, target, delivery_id);
-- The dead letters of a store, newest first.
create index notification_dead_letter on notification_delivery (tenant_id, delivery_id) where status = 'dead';

alter table webhook_subscription enable row level security;
alter table webhook_subscription force row level security;
create policy tenant_isolation on webhook_subscription
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table notification_delivery enable row level security;
alter table notification_delivery force row level security;
create policy tenant_isolation on notification_delivery
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());
