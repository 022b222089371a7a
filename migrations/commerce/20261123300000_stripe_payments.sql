-- Stripe charges and the Stripe events a store has processed.
--
-- A Stripe charge is a PaymentIntent created, recorded here as `pending` with
-- its id, then confirmed: a crash or a lost response between the two leaves the
-- intent's id, so the recovery job retrieves the outcome and never charges.
alter table payment add column provider_payment_id text check (length(provider_payment_id) <= 255);
alter table payment drop constraint payment_status_check;
alter table payment add constraint payment_status_check check (status in ('pending', 'succeeded', 'failed'));
-- Webhooks find the charge by the intent's id; tenant-led like every unique index.
create unique index payment_provider_payment_id_key on payment (tenant_id, provider_payment_id);

-- Webhook events already handled, per store: Stripe delivers at least once, so
-- a duplicate delivery finds its id here and changes nothing. Written in the
-- same transaction as the change the event made.
create table stripe_event (
    tenant_id    uuid not null,
    event_id     text not null check (length(event_id) between 1 and 255),
    event_type   text not null check (length(event_type) <= 255),
    object_id    text check (length(object_id) <= 255),
    received_at  timestamptz not null default now(),
    primary key (tenant_id, event_id)
);

alter table stripe_event enable row level security;
alter table stripe_event force row level security;
create policy tenant_isolation on stripe_event
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());
