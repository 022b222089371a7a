-- What a store charges on top of (or off) its prices: shipping methods, tax
-- rates per country and region, discount codes with atomic usage limits.

create table shipping_method (
    tenant_id           uuid not null,
    shipping_method_id  uuid not null,
    name                text not null check (length(name) between 1 and 100),
    amount              bigint not null check (amount >= 0),
    currency            char(3) not null check (currency ~ '^[A-Z]{3}$'),
    -- Free when the discounted subtotal reaches this amount; null: never free.
    free_over_amount    bigint check (free_over_amount >= 0),
    active              boolean not null default true,
    created_at          timestamptz not null default now(),
    primary key (tenant_id, shipping_method_id)
);

-- region '' means the whole country; the most specific match wins.
create table tax_rate (
    tenant_id    uuid not null,
    tax_rate_id  uuid not null,
    country      char(2) not null check (country ~ '^[A-Z]{2}$'),
    region       text not null default '' check (length(region) <= 100),
    name         text not null default 'Tax' check (length(name) between 1 and 100),
    -- Basis points: 825 is 8.25 %.
    rate_bps     integer not null check (rate_bps between 0 and 10000),
    -- Inclusive: prices already contain the tax; exclusive: it is added on top.
    inclusive    boolean not null default false,
    created_at   timestamptz not null default now(),
    primary key (tenant_id, tax_rate_id),
    constraint tax_rate_region_key unique (tenant_id, country, region)
);

-- used_count never passes usage_limit: redemptions are one conditional update,
-- which this check backs up.
create table discount_code (
    tenant_id         uuid not null,
    discount_code_id  uuid not null,
    code              text not null check (code ~ '^[A-Z0-9_-]{2,50}$'),
    kind              text not null check (kind in ('percentage', 'fixed')),
    percent_off       integer check (percent_off between 1 and 100),
    amount_off        bigint check (amount_off > 0),
    currency          char(3) not null check (currency ~ '^[A-Z]{3}$'),
    min_subtotal      bigint not null default 0 check (min_subtotal >= 0),
    expires_at        timestamptz,
    usage_limit       integer check (usage_limit >= 0),
    used_count        integer not null default 0 check (used_count >= 0),
    active            boolean not null default true,
    created_at        timestamptz not null default now(),
    primary key (tenant_id, discount_code_id),
    constraint discount_code_code_key unique (tenant_id, code),
    constraint discount_code_within_limit check (usage_limit is null or used_count <= usage_limit),
    constraint discount_code_kind_value check (
        (kind = 'percentage' and percent_off is not null and amount_off is null)
        or (kind = 'fixed' and amount_off is not null and percent_off is null))
);

alter table shipping_method enable row level security;
alter table shipping_method force row level security;
create policy tenant_isolation on shipping_method
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table tax_rate enable row level security;
alter table tax_rate force row level security;
create policy tenant_isolation on tax_rate
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table discount_code enable row level security;
alter table discount_code force row level security;
create policy tenant_isolation on discount_code
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());
