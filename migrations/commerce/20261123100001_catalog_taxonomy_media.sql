-- Options, categories (a tree), collections and product media. Every table is
-- tenant-owned: tenant_id leads every key and index; RLS enabled and forced.

-- A product's options ("Size": S, M, L), in display order.
create table product_option (
    tenant_id   uuid not null,
    product_id  uuid not null,
    position    integer not null check (position >= 0),
    name        text not null check (length(name) between 1 and 100),
    "values"    text[] not null check (cardinality("values") between 1 and 100),
    primary key (tenant_id, product_id, position),
    constraint product_option_name_key unique (tenant_id, product_id, name),
    foreign key (tenant_id, product_id) references product (tenant_id, product_id) on delete cascade
);

create table category (
    tenant_id    uuid not null,
    category_id  uuid not null,
    -- null for a root. A parent cannot be deleted while it has children.
    parent_id    uuid check (parent_id <> category_id),
    handle       text not null check (handle ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' and length(handle) <= 200),
    name         text not null check (length(name) between 1 and 200),
    description  text,
    position     integer not null default 0,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (tenant_id, category_id),
    constraint category_handle_key unique (tenant_id, handle),
    constraint category_parent_fkey foreign key (tenant_id, parent_id) references category (tenant_id, category_id)
);

create index category_parent_idx on category (tenant_id, parent_id, position);

create table product_category (
    tenant_id    uuid not null,
    product_id   uuid not null,
    category_id  uuid not null,
    primary key (tenant_id, product_id, category_id),
    foreign key (tenant_id, product_id) references product (tenant_id, product_id) on delete cascade,
    constraint product_category_category_fkey foreign key (tenant_id, category_id)
        references category (tenant_id, category_id) on delete cascade
);

create index product_category_category_idx on product_category (tenant_id, category_id, product_id);

create table collection (
    tenant_id      uuid not null,
    collection_id  uuid not null,
    handle         text not null check (handle ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' and length(handle) <= 200),
    title          text not null check (length(title) between 1 and 200),
    description    text,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    primary key (tenant_id, collection_id),
    constraint collection_handle_key unique (tenant_id, handle)
);

create table collection_product (
    tenant_id      uuid not null,
    collection_id  uuid not null,
    product_id     uuid not null,
    position       integer not null default 0,
    primary key (tenant_id, collection_id, product_id),
    foreign key (tenant_id, collection_id) references collection (tenant_id, collection_id) on delete cascade,
    constraint collection_product_product_fkey foreign key (tenant_id, product_id)
        references product (tenant_id, product_id) on delete cascade
);

create index collection_product_product_idx on collection_product (tenant_id, product_id);

-- An image or file of a product. The object lives in the media backend under a
-- key that starts with the store's id; the row exists from the moment an upload
-- URL is handed out ('pending') and turns 'ready' once the upload is confirmed.
create table product_media (
    tenant_id     uuid not null,
    media_id      uuid not null,
    product_id    uuid not null,
    storage_key   text not null,
    content_type  text not null,
    byte_size     bigint not null check (byte_size > 0),
    alt           text check (length(alt) <= 500),
    position      integer not null default 0,
    status        text not null default 'pending' check (status in ('pending', 'ready')),
    created_at    timestamptz not null default now(),
    primary key (tenant_id, media_id),
    constraint product_media_key_prefix check (storage_key like tenant_id::text || '/%'),
    foreign key (tenant_id, product_id) references product (tenant_id, product_id) on delete cascade
);

create index product_media_product_idx on product_media (tenant_id, product_id, position);

alter table product_option enable row level security;
alter table product_option force row level security;
create policy tenant_isolation on product_option
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());

alter table category enable row level security;
alter table category force row level security;
create policy tenant_isolation on category
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());

alter table product_category enable row level security;
alter table product_category force row level security;
create policy tenant_isolation on product_category
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());

alter table collection enable row level security;
alter table collection force row level security;
create policy tenant_isolation on collection
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());

alter table collection_product enable row level security;
alter table collection_product force row level security;
create policy tenant_isolation on collection_product
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());

alter table product_media enable row level security;
alter table product_media force row level security;
create policy tenant_isolation on product_media
    using (tenant_id = current_tenant_id())
    with check (tenant_id = current_tenant_id());
