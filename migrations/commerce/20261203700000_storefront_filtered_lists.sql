-- The storefront's filtered lists without a search phrase (a category page,
-- a collection page, a price range, any of them together) as one prepared
-- call, like the unfiltered lists (20261203600000 says why).
--
-- Before this, a filtered list was a statement parsed and planned per request
-- whose category test resolved the category's subtree in a sub-select
-- correlated with each product it scanned: a category page ran about 9 x
-- slower than the same store's unfiltered list (BENCHMARKS.md, round four).
-- Here the subtree and the collection are resolved once per call, before the
-- scan, and a category or collection that names nothing matches nothing.
--
-- For newest and title order a cursor's absence is a sentinel below every
-- key (or above, for newest), so each is one statement whose keyset stays an
-- index condition in the plan PostgreSQL keeps; the price orders sort every
-- match anyway (their key is in no index), so one statement serves both. Newest first within one
-- category (no subcategories) reads the category's members from
-- product_category's index in id order, so a page fetches only its own
-- products; the price orders within one category sort its members only.
-- The other shapes scan the store's active products in order and test
-- membership, which for a category of a tenth of the store reads about ten
-- products per one listed. Attribute filters stay on
-- the per-request statement (`list_read` in the data plane): their shape
-- varies with the number of attributes and values.

create function storefront_docs_filtered(
    p_tenant uuid, p_version integer, p_sort text,
    p_after uuid, p_after_price bigint, p_after_title text, p_limit bigint,
    p_category uuid, p_category_handle text,
    p_collection uuid, p_collection_handle text,
    p_price_min bigint, p_price_max bigint)
returns table (product_id uuid, price_key bigint, title text, doc text)
language plpgsql volatile as $$
#variable_conflict use_column
declare
    v_categories uuid[];
    v_collection uuid;
    v_after uuid;
begin
    perform set_config('role', 'app_tenant', true);
    perform set_config('app.tenant_id', p_tenant::text, true);
    if p_category is not null or p_category_handle is not null then
        v_categories := array(
            with recursive tree as (
                select c.category_id from commerce.category c
                 where c.tenant_id = p_tenant
                   and (c.category_id = p_category or (p_category is null and c.handle = p_category_handle))
              union
                select c.category_id from commerce.category c join tree t on c.parent_id = t.category_id
                 where c.tenant_id = p_tenant)
            select tree.category_id from tree);
        if cardinality(v_categories) = 0 then
            return;
        end if;
    end if;
    if p_collection is not null or p_collection_handle is not null then
        select c.collection_id into v_collection from commerce.collection c
         where c.tenant_id = p_tenant
           and (c.collection_id = p_collection or (p_collection is null and c.handle = p_collection_handle));
        if v_collection is null then
            return;
        end if;
    end if;

    if p_sort = 'newest' and cardinality(v_categories) = 1 then
        -- A category without subcategories, newest first (a category page as
        -- first shown): its members in id order from product_category's
        -- index, so a page reads its own products and no others.
        v_after := coalesce(p_after, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product_category pc
              join commerce.product p on p.tenant_id = pc.tenant_id and p.product_id = pc.product_id
             where pc.tenant_id = p_tenant and pc.category_id = v_categories[1] and pc.product_id < v_after
               and p.status = 'active'
               and (v_collection is null or exists (
                   select 1 from commerce.collection_product cp
                    where cp.tenant_id = p_tenant and cp.product_id = p.product_id
                      and cp.collection_id = v_collection))
               and (p_price_min is null or p.price_min >= p_price_min)
               and (p_price_max is null or p.price_min <= p_price_max)
             order by pc.product_id desc
             limit p_limit;
    elsif p_sort in ('price_asc', 'price_desc') and cardinality(v_categories) = 1 then
        -- A price order sorts every matching product whatever the plan (its
        -- key is an expression no index holds); within one category those
        -- are the category's members, read from product_category's index,
        -- rather than every active product of the store.
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product_category pc
              join commerce.product p on p.tenant_id = pc.tenant_id and p.product_id = pc.product_id
             where pc.tenant_id = p_tenant and pc.category_id = v_categories[1] and p.status = 'active'
               and (p_after is null
                    or (p_sort = 'price_asc' and (coalesce(p.price_min, 0), p.product_id) > (p_after_price, p_after))
                    or (p_sort = 'price_desc' and (coalesce(p.price_min, 0), p.product_id) < (p_after_price, p_after)))
               and (v_collection is null or exists (
                   select 1 from commerce.collection_product cp
                    where cp.tenant_id = p_tenant and cp.product_id = p.product_id
                      and cp.collection_id = v_collection))
               and (p_price_min is null or p.price_min >= p_price_min)
               and (p_price_max is null or p.price_min <= p_price_max)
             order by case when p_sort = 'price_asc' then coalesce(p.price_min, 0) end asc,
                      case when p_sort = 'price_asc' then p.product_id end asc,
                      case when p_sort = 'price_desc' then coalesce(p.price_min, 0) end desc,
                      case when p_sort = 'price_desc' then p.product_id end desc
             limit p_limit;
    elsif p_sort = 'newest' then
        v_after := coalesce(p_after, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active' and p.product_id < v_after
               and (v_categories is null or exists (
                   select 1 from commerce.product_category pc
                    where pc.tenant_id = p_tenant and pc.product_id = p.product_id
                      and pc.category_id = any(v_categories)))
               and (v_collection is null or exists (
                   select 1 from commerce.collection_product cp
                    where cp.tenant_id = p_tenant and cp.product_id = p.product_id
                      and cp.collection_id = v_collection))
               and (p_price_min is null or p.price_min >= p_price_min)
               and (p_price_max is null or p.price_min <= p_price_max)
             order by p.product_id desc
             limit p_limit;
    elsif p_sort in ('price_asc', 'price_desc') then
        -- The key is an expression no index holds: every matching product is
        -- sorted whatever the plan, so one statement serves both directions.
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active'
               and (p_after is null
                    or (p_sort = 'price_asc' and (coalesce(p.price_min, 0), p.product_id) > (p_after_price, p_after))
                    or (p_sort = 'price_desc' and (coalesce(p.price_min, 0), p.product_id) < (p_after_price, p_after)))
               and (v_categories is null or exists (
                   select 1 from commerce.product_category pc
                    where pc.tenant_id = p_tenant and pc.product_id = p.product_id
                      and pc.category_id = any(v_categories)))
               and (v_collection is null or exists (
                   select 1 from commerce.collection_product cp
                    where cp.tenant_id = p_tenant and cp.product_id = p.product_id
                      and cp.collection_id = v_collection))
               and (p_price_min is null or p.price_min >= p_price_min)
               and (p_price_max is null or p.price_min <= p_price_max)
             order by case when p_sort = 'price_asc' then coalesce(p.price_min, 0) end asc,
                      case when p_sort = 'price_asc' then p.product_id end asc,
                      case when p_sort = 'price_desc' then coalesce(p.price_min, 0) end desc,
                      case when p_sort = 'price_desc' then p.product_id end desc
             limit p_limit;
    elsif p_sort = 'title' then
        -- No title sorts before the empty one, and no id before the nil UUID.
        v_after := coalesce(p_after, '00000000-0000-0000-0000-000000000000');
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active'
               and (p.title, p.product_id) > (coalesce(p_after_title, ''), v_after)
               and (v_categories is null or exists (
                   select 1 from commerce.product_category pc
                    where pc.tenant_id = p_tenant and pc.product_id = p.product_id
                      and pc.category_id = any(v_categories)))
               and (v_collection is null or exists (
                   select 1 from commerce.collection_product cp
                    where cp.tenant_id = p_tenant and cp.product_id = p.product_id
                      and cp.collection_id = v_collection))
               and (p_price_min is null or p.price_min >= p_price_min)
               and (p_price_max is null or p.price_min <= p_price_max)
             order by p.title asc, p.product_id asc
             limit p_limit;
    else
        raise exception 'storefront_docs_filtered: unknown sort %', p_sort;
    end if;
end
$$;
