-- Orders, their lines, stock reservations, payments and refunds of the built-in
-- test provider, and the transactional outbox.

-- Order numbers count per store in a row of the store's own, so no sequence
-- shared across stores reveals another store's volume.
create table order_counter (
    tenant_id    uuid not null,
    last_number  bigint not null check (last_number > 0),
    primary key (tenant_id)
);

create table sales_order (
    tenant_id           uuid not null,
    order_id            uuid not null,
    number              bigint not null,
    status              text not null check (status in ('pending_payment', 'paid', 'fulfilled', 'delivered',
                                                        'payment_failed', 'cancelled', 'refunded',
                                                        'partially_refunded')),
    customer_id         uuid,
    email               text not null check (length(email) <= 254),
    currency            char(3) not null check (currency ~ '^[A-Z]{3}$'),
    subtotal            bigint not null check (subtotal >= 0),
    discount_total      bigint not null default 0 check (discount_total >= 0),
    shipping_total      bigint not null default 0 check (shipping_total >= 0),
    tax_total           bigint not null default 0 check (tax_total >= 0),
    tax_inclusive       boolean not null default false,
    total               bigint not null check (total >= 0),
    refunded_total      bigint not null default 0 check (refunded_total >= 0),
    discount_code_id    uuid,
    discount_code       text,
    shipping_method_id  uuid,
    shipping_method     text,
    shipping_address    jsonb not null,
    tracking_number     text check (length(tracking_number) <= 100),
    carrier             text check (length(carrier) <= 100),
    cancel_reason       text check (length(cancel_reason) <= 500),
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    paid_at             timestamptz,
    fulfilled_at        timestamptz,
    delivered_at        timestamptz,
    cancelled_at        timestamptz,
    primary key (tenant_id, order_id),
    constraint sales_order_number_key unique (tenant_id, number),
    constraint sales_order_refund_within_total check (refunded_total <= total)
);
create index sales_order_customer_idx on sales_order (tenant_id, customer_id, order_id desc) where customer_id is not null;
create index sales_order_status_idx on sales_order (tenant_id, status, order_id desc);
create index sales_order_email_idx on sales_order (tenant_id, lower(email), order_id desc);
-- The worker's recovery scan across stores.
create index sales_order_pending_idx on sales_order (created_at) where status = 'pending_payment';

create table sales_order_line (
    tenant_id    uuid not null,
    order_id     uuid not null,
    line_no      integer not null check (line_no >= 0),
    variant_id   uuid not null,
    product_id   uuid not null,
    sku          text not null,
    title        text not null,
    quantity     integer not null check (quantity > 0),
    unit_amount  bigint not null check (unit_amount >= 0),
    total        bigint not null check (total >= 0),
    primary key (tenant_id, order_id, line_no),
    foreign key (tenant_id, order_id) references sales_order (tenant_id, order_id) on delete cascade
);

-- Units held for an order. held → committed (paid) or released (failure,
-- cancellation, expiry); the stock counters move in the same transaction.
create table stock_reservation (
    tenant_id    uuid not null,
    order_id     uuid not null,
    variant_id   uuid not null,
    quantity     integer not null check (quantity > 0),
    status       text not null default 'held' check (status in ('held', 'committed', 'released')),
    expires_at   timestamptz not null,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (tenant_id, order_id, variant_id),
    -- Deferred: checkout holds stock before it numbers the order, so a sold-out
    -- attempt never touches the store's order counter.
    foreign key (tenant_id, order_id) references sales_order (tenant_id, order_id)
        on delete cascade deferrable initially deferred
);
-- The worker's expiry scan across stores.
create index stock_reservation_expiry_idx on stock_reservation (expires_at) where status = 'held';

-- Charges of the built-in test provider, one per order: the order id is the
-- idempotency key, so a retried charge finds the first one instead of charging again.
create table payment (
    tenant_id       uuid not null,
    order_id        uuid not null,
    payment_id      uuid not null,
    provider        text not null check (provider in ('test', 'stripe')),
    status          text not null check (status in ('succeeded', 'failed')),
    amount          bigint not null check (amount >= 0),
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    refunded_amount bigint not null default 0 check (refunded_amount >= 0),
    failure_code    text,
    created_at      timestamptz not null default now(),
    primary key (tenant_id, order_id),
    constraint payment_id_key unique (tenant_id, payment_id),
    constraint payment_refund_within_amount check (refunded_amount <= amount)
);

create table refund (
    tenant_id   uuid not null,
    refund_id   uuid not null,
    order_id    uuid not null,
    amount      bigint not null check (amount > 0),
    currency    char(3) not null check (currency ~ '^[A-Z]{3}$'),
    reason      text check (length(reason) <= 500),
    created_at  timestamptz not null default now(),
    primary key (tenant_id, refund_id)
);
create index refund_order_idx on refund (tenant_id, order_id);

-- Events written in the same transaction as the change they announce; the
-- worker's relay publishes them in id (time) order.
create table outbox_event (
    tenant_id     uuid not null,
    event_id      uuid not null,
    topic         text not null check (topic ~ '^[a-z_]+(\.[a-z_]+)+$'),
    aggregate_id  uuid not null,
    payload       jsonb not null,
    created_at    timestamptz not null default now(),
    published_at  timestamptz,
    primary key (tenant_id, event_id)
);
create index outbox_event_unpublished_idx on outbox_event (event_id) where published_at is null;
create index outbox_event_aggregate_idx on outbox_event (tenant_id, aggregate_id, event_id);

alter table order_counter enable row level security;
alter table order_counter force row level security;
create policy tenant_isolation on order_counter
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table sales_order enable row level security;
alter table sales_order force row level security;
create policy tenant_isolation on sales_order
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table sales_order_line enable row level security;
alter table sales_order_line force row level security;
create policy tenant_isolation on sales_order_line
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table stock_reservation enable row level security;
alter table stock_reservation force row level security;
create policy tenant_isolation on stock_reservation
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table payment enable row level security;
alter table payment force row level security;
create policy tenant_isolation on payment
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table refund enable row level security;
alter table refund force row level security;
create policy tenant_isolation on refund
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table outbox_event enable row level security;
alter table outbox_event force row level security;
create policy tenant_isolation on outbox_event
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());
