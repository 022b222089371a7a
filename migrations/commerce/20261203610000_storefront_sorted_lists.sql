-- The storefront's other unfiltered lists (by price either way, by title) as
-- prepared calls, like storefront_docs_newest (20261203600000, whose comment
-- says why). The cursor is the last row's sort key and id, as in the keyset
-- the API hands out. Each sort, with and without a cursor, is its own
-- statement, so each keeps a plan that can use an index for its keyset.

create function storefront_docs_sorted(
    p_tenant uuid, p_version integer, p_sort text,
    p_after uuid, p_after_price bigint, p_after_title text, p_limit bigint)
returns table (product_id uuid, price_key bigint, title text, doc text)
language plpgsql volatile as $$
begin
    perform set_config('role', 'app_tenant', true);
    perform set_config('app.tenant_id', p_tenant::text, true);
    if p_sort = 'price_asc' and p_after is null then
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active'
             order by coalesce(p.price_min, 0) asc, p.product_id asc
             limit p_limit;
    elsif p_sort = 'price_asc' then
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active'
               and (coalesce(p.price_min, 0), p.product_id) > (p_after_price, p_after)
             order by coalesce(p.price_min, 0) asc, p.product_id asc
             limit p_limit;
    elsif p_sort = 'price_desc' and p_after is null then
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active'
             order by coalesce(p.price_min, 0) desc, p.product_id desc
             limit p_limit;
    elsif p_sort = 'price_desc' then
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active'
               and (coalesce(p.price_min, 0), p.product_id) < (p_after_price, p_after)
             order by coalesce(p.price_min, 0) desc, p.product_id desc
             limit p_limit;
    elsif p_sort = 'title' and p_after is null then
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active'
             order by p.title asc, p.product_id asc
             limit p_limit;
    elsif p_sort = 'title' then
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active'
               and (p.title, p.product_id) > (p_after_title, p_after)
             order by p.title asc, p.product_id asc
             limit p_limit;
    else
        raise exception 'storefront_docs_sorted: unknown sort %', p_sort;
    end if;
end
$$;
