-- Catalog search: full-text (tsvector with weights, in the store's language),
-- trigram similarity for misspellings and autocomplete, and the denormalised
-- columns that storefront filters and sorts need.
--
-- Extensions live in schema public (every pool's search_path ends with it). This
-- migration runs with search_path = commerce only, hence the qualified names.
-- Both are trusted extensions: a database owner without superuser may create them.
create extension if not exists pg_trgm with schema public;
-- btree_gin lets a GIN index lead with tenant_id, so every search index is
-- (tenant_id, …) like every other index of a tenant-owned table.
create extension if not exists btree_gin with schema public;

-- The text search configuration of the store's language, copied on every write
-- (the data plane knows the store's locale; the vector is generated from it).
alter table product add column search_config regconfig not null default 'simple';

-- Title weighs most (A), then attribute values (B), then the description (C).
alter table product add column search_vector tsvector generated always as (
    setweight(to_tsvector(search_config, title), 'A')
    || setweight(jsonb_to_tsvector(search_config, attributes, '["string"]'), 'B')
    || setweight(to_tsvector(search_config, coalesce(description, '')), 'C')
) stored;

-- Lowest variant price, kept by the catalog on every variant write: the
-- storefront's price filter and sort read it without a join.
alter table product add column price_min bigint check (price_min >= 0);

-- Attributes are a flat object of strings ({"color": "red"}), so filters are
-- containment and facets are jsonb_each_text.
alter table product add constraint product_attributes_object check (jsonb_typeof(attributes) = 'object');

create index product_search_idx on product using gin (tenant_id, search_vector);
create index product_title_trgm_idx on product using gin (tenant_id, title public.gin_trgm_ops);
create index product_attributes_idx on product using gin (tenant_id, attributes jsonb_path_ops);
create index product_price_idx on product (tenant_id, status, price_min, product_id);
create index product_title_idx on product (tenant_id, status, title, product_id);

alter table product_variant add column weight_grams integer check (weight_grams >= 0);
alter table product_variant add column barcode text check (length(barcode) between 1 and 64);
-- The variant's value for each of its product's options: {"Size": "M", "Color": "Blue"}.
alter table product_variant add column options jsonb not null default '{}'::jsonb
    check (jsonb_typeof(options) = 'object');
alter table product_variant add constraint product_variant_compare_at_currency
    check (compare_at_amount is null or compare_at_amount >= price_amount);
