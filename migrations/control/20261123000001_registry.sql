-- Tenant registry: which stores exist, where their data lives, which hosts reach them.
-- Runs with search_path = control, so every object below lands in schema `control`.

create table cell (
    cell_id      text primary key check (cell_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    -- null: the cell is the database that holds this control schema (the default install).
    -- Otherwise the name of an environment variable holding the cell's URL, so no
    -- credentials are stored in the registry.
    database_url_env text,
    accepts_new_tenants boolean not null default true,
    created_at   timestamptz not null default now()
);

insert into cell (cell_id) values ('default');

create table tenant (
    tenant_id    uuid primary key,
    slug         text not null unique check (slug ~ '^[a-z0-9]([a-z0-9-]{1,61})[a-z0-9]$'),
    name         text not null check (length(name) between 1 and 200),
    status       text not null default 'active' check (status in ('active', 'suspended', 'deleted')),
    plan         text not null default 'starter',
    currency     char(3) not null check (currency ~ '^[A-Z]{3}$'),
    locale       text not null default 'en-US',
    timezone     text not null default 'UTC',
    cell_id      text not null references cell (cell_id),
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);

create index tenant_status_idx on tenant (status, tenant_id);

-- A custom host belongs to one store only: the primary key on host makes that a rule.
create table tenant_domain (
    host               text primary key check (host = lower(host) and length(host) between 4 and 253),
    tenant_id          uuid not null references tenant (tenant_id) on delete cascade,
    verification_token text not null,
    verified_at        timestamptz,
    created_at         timestamptz not null default now()
);

create index tenant_domain_tenant_idx on tenant_domain (tenant_id);
