-- Catalog core: products, variants and stock levels. Every table is tenant-owned:
-- tenant_id leads every key and index, and RLS is enabled and forced.

create table product (
    tenant_id    uuid not null,
    product_id   uuid not null,
    handle       text not null check (handle ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' and length(handle) <= 200),
    title        text not null check (length(title) between 1 and 500),
    description  text,
    status       text not null default 'draft' check (status in ('draft', 'active', 'archived')),
    attributes   jsonb not null default '{}'::jsonb,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (tenant_id, product_id),
    constraint product_handle_key unique (tenant_id, handle)
);

-- Storefront listing: active products newest first (ids are UUIDv7, so id order is time order).
create index product_listing_idx on product (tenant_id, status, product_id desc);

create table product_variant (
    tenant_id       uuid not null,
    variant_id      uuid not null,
    product_id      uuid not null,
    sku             text not null check (length(sku) between 1 and 100),
    title           text not null default 'Default',
    price_amount    bigint not null check (price_amount >= 0),
    currency        char(3) not null check (currency ~ '^[A-Z]{3}$'),
    compare_at_amount bigint check (compare_at_amount >= 0),
    position        integer not null default 0,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    primary key (tenant_id, variant_id),
    constraint product_variant_sku_key unique (tenant_id, sku),
    foreign key (tenant_id, product_id) references product (tenant_id, product_id) on delete cascade
);

create index product_variant_product_idx on product_variant (tenant_id, product_id, position);

-- Stock per variant. reserved <= on_hand is a constraint, so no code path can
-- oversell: reservations are conditional updates that this check backs up.
create table inventory_level (
    tenant_id   uuid not null,
    variant_id  uuid not null,
    on_hand     integer not null default 0 check (on_hand >= 0),
    reserved    integer not null default 0 check (reserved >= 0),
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, variant_id),
    constraint inventory_level_not_oversold check (reserved <= on_hand),
    foreign key (tenant_id, variant_id) references product_variant (tenant_id, variant_id) on delete cascade
);

alter table product enable row level security;
alter table product force row level security;
create policy tenant_isolation on product
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());

alter table product_variant enable row level security;
alter table product_variant force row level security;
create policy tenant_isolation on product_variant
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());

alter table inventory_level enable row level security;
alter table inventory_level force row level security;
create policy tenant_isolation on inventory_level
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());
