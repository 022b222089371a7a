-- Refunds as records of attempts: a refund is written `pending` (with the
-- provider of the payment it returns money from) before the provider is
-- called, and becomes `succeeded` or `failed` only from the provider's answer.
-- The order's `refunded_total` and status change in the same transaction as
-- `succeeded`, never before. A pending refund whose answer was lost is asked
-- about again by the worker (same refund id = the provider's idempotency key)
-- with backoff; after a bounded number of attempts it is flagged
-- `needs_attention` for an admin (still pending: money may yet move).
-- Rows from before this migration were booked as refunded: `succeeded`.
alter table refund
    add column status           text not null default 'succeeded'
        check (status in ('pending', 'succeeded', 'failed')),
    add column provider         text check (provider in ('test', 'stripe')),
    add column provider_refund_id text check (length(provider_refund_id) <= 255),
    add column failure_code     text check (length(failure_code) <= 255),
    add column idempotency_key  text check (length(idempotency_key) <= 255),
    -- What the refund is part of: a staff refund, a cancellation, a late charge given back.
    add column kind             text not null default 'refund'
        check (kind in ('refund', 'cancellation', 'late_charge')),
    add column attempts         integer not null default 0 check (attempts >= 0),
    add column next_attempt_at  timestamptz not null default now(),
    add column last_error       text check (length(last_error) <= 1000),
    add column needs_attention  boolean not null default false,
    add column settled_at       timestamptz,
    add column updated_at       timestamptz not null default now();
alter table refund alter column status set default 'pending';

-- One refund per (order, Idempotency-Key): a replay finds it instead of refunding again.
create unique index refund_idempotency_key on refund (tenant_id, order_id, idempotency_key)
    where idempotency_key is not null;
-- The settling job's scan, across stores of a cell.
create index refund_pending_idx on refund (next_attempt_at) where status = 'pending';

-- The built-in test provider's side of refunds: what it "paid back", once per
-- refund id (its idempotency key). Apart from our books (`refund`), as a real
-- provider's ledger is.
create table test_provider_refund (
    tenant_id   uuid not null,
    refund_id   uuid not null,
    order_id    uuid not null,
    amount      bigint not null check (amount > 0),
    created_at  timestamptz not null default now(),
    primary key (tenant_id, refund_id)
);
create index test_provider_refund_order_idx on test_provider_refund (tenant_id, order_id);

alter table test_provider_refund enable row level security;
alter table test_provider_refund force row level security;
create policy tenant_isolation on test_provider_refund
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());
