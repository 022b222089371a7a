-- The storefront read model: each product's shopper-facing JSON (the exact
-- bytes of `GET /store/products/{id}` and of its item in a product list),
-- rendered by the data plane on every catalog write and stored in the
-- product's own row, beside the sort keys (product_id, price_min, title) and
-- filter columns (status, attributes, search_vector) the lists already use.
-- A cold list is then one index scan returning ready JSON. The row is the
-- product's, so its RLS policy (enabled and forced) covers the model too.
--
-- storefront_version names the renderer that produced storefront_json; a
-- read uses the JSON only when it is the running renderer's, and otherwise
-- renders the product from its tables (never a stale answer).
alter table product add column storefront_json text;
alter table product add column storefront_version integer;

-- Safety net: a write to a product's variants, options, categories or media
-- marks its model stale in the same transaction, whichever code path made it
-- (a foreign-key cascade included). The catalog re-renders after its own
-- writes; a path that forgets costs a live render, not a wrong page.
create function product_storefront_stale() returns trigger language plpgsql as $$
declare
    r record;
begin
    if tg_op = 'DELETE' then r := old; else r := new; end if;
    update product set storefront_version = null
     where tenant_id = r.tenant_id and product_id = r.product_id and storefront_version is not null;
    if tg_op = 'UPDATE' and (old.product_id <> new.product_id or old.tenant_id <> new.tenant_id) then
        update product set storefront_version = null
         where tenant_id = old.tenant_id and product_id = old.product_id and storefront_version is not null;
    end if;
    return null;
end $$;

create trigger product_variant_storefront_stale after insert or update or delete on product_variant
    for each row execute function product_storefront_stale();
create trigger product_option_storefront_stale after insert or update or delete on product_option
    for each row execute function product_storefront_stale();
create trigger product_category_storefront_stale after insert or update or delete on product_category
    for each row execute function product_storefront_stale();
create trigger product_media_storefront_stale after insert or update or delete on product_media
    for each row execute function product_storefront_stale();

-- The product's own columns: an update that does not itself store a render
-- (every render moves the version from null to the renderer's) marks the
-- model stale, so a change made by any statement is never hidden by it.
create function product_own_storefront_stale() returns trigger language plpgsql as $$
begin
    if new.storefront_version is not distinct from old.storefront_version
       and new.storefront_json is not distinct from old.storefront_json then
        new.storefront_version := null;
    end if;
    return new;
end $$;

create trigger product_storefront_stale before update on product
    for each row execute function product_own_storefront_stale();

-- Backfill: every existing product starts stale (version null) and is
-- rendered by the data plane's start-up backfill (`tenant-api serve`), in
-- batches, with the same serializer as the API; until then its reads render
-- it from its tables as before. (SQL cannot produce the API's bytes: the
-- serializer is the API's.)
