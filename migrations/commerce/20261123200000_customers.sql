-- Shoppers of a store: accounts (argon2id), addresses, refresh tokens with
-- rotation, single-use password reset tokens. A shopper of store A is a
-- stranger to store B: the same email may register in both.

create table customer (
    tenant_id      uuid not null,
    customer_id    uuid not null,
    email          text not null check (position('@' in email) > 1 and length(email) <= 254),
    password_hash  text not null,
    first_name     text check (length(first_name) <= 100),
    last_name      text check (length(last_name) <= 100),
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    primary key (tenant_id, customer_id)
);
create unique index customer_email_key on customer (tenant_id, lower(email));

create table customer_address (
    tenant_id    uuid not null,
    address_id   uuid not null,
    customer_id  uuid not null,
    name         text not null check (length(name) between 1 and 200),
    line1        text not null check (length(line1) between 1 and 200),
    line2        text check (length(line2) <= 200),
    city         text not null check (length(city) between 1 and 100),
    region       text check (length(region) <= 100),
    postal_code  text not null check (length(postal_code) between 1 and 20),
    country      char(2) not null check (country ~ '^[A-Z]{2}$'),
    phone        text check (length(phone) <= 40),
    is_default   boolean not null default false,
    created_at   timestamptz not null default now(),
    primary key (tenant_id, address_id),
    foreign key (tenant_id, customer_id) references customer (tenant_id, customer_id) on delete cascade
);
create index customer_address_customer_idx on customer_address (tenant_id, customer_id, address_id);

-- Refresh tokens rotate: each use marks the row used and issues the next one in
-- the same family; a second use of a used token revokes the family (theft).
create table customer_refresh_token (
    tenant_id    uuid not null,
    token_hash   bytea not null,
    family_id    uuid not null,
    customer_id  uuid not null,
    expires_at   timestamptz not null,
    used_at      timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz not null default now(),
    primary key (tenant_id, token_hash),
    foreign key (tenant_id, customer_id) references customer (tenant_id, customer_id) on delete cascade
);
create index customer_refresh_token_family_idx on customer_refresh_token (tenant_id, family_id);
create index customer_refresh_token_customer_idx on customer_refresh_token (tenant_id, customer_id);

-- Password reset tokens: stored as SHA-256 (they are 256-bit random), one hour,
-- single use (the confirming update matches only an unused, unexpired row).
create table customer_password_reset (
    tenant_id    uuid not null,
    token_hash   bytea not null,
    customer_id  uuid not null,
    expires_at   timestamptz not null,
    used_at      timestamptz,
    created_at   timestamptz not null default now(),
    primary key (tenant_id, token_hash),
    foreign key (tenant_id, customer_id) references customer (tenant_id, customer_id) on delete cascade
);

alter table customer enable row level security;
alter table customer force row level security;
create policy tenant_isolation on customer
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table customer_address enable row level security;
alter table customer_address force row level security;
create policy tenant_isolation on customer_address
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table customer_refresh_token enable row level security;
alter table customer_refresh_token force row level security;
create policy tenant_isolation on customer_refresh_token
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());

alter table customer_password_reset enable row level security;
alter table customer_password_reset force row level security;
create policy tenant_isolation on customer_password_reset
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());
