-- The storefront's most common cold reads as functions that set the tenant
-- context themselves, so the data plane calls them as one prepared statement
-- (`select * from f($1, …)`, one round trip) and PostgreSQL keeps their plans
-- instead of parsing and planning a statement per request (about half of a
-- cold point read's database time; BENCHMARKS.md, round two).
--
-- Each begins as every tenant-scoped transaction does: the role becomes
-- app_tenant and app.tenant_id the first argument, both local to the implicit
-- transaction of the call, so row-level security (forced on product) applies
-- to the reads below exactly as in a TenantTx, and the context ends with the
-- call. They are SECURITY INVOKER: a caller that cannot SET ROLE app_tenant
-- cannot run them.
--
-- The columns are those of the read model's other reads: id, price key,
-- title, and the stored JSON if it is the given renderer version's.

create function storefront_doc_by_id(p_tenant uuid, p_version integer, p_product uuid)
returns table (product_id uuid, price_key bigint, title text, doc text)
language plpgsql volatile as $$
begin
    perform set_config('role', 'app_tenant', true);
    perform set_config('app.tenant_id', p_tenant::text, true);
    return query
        select p.product_id, coalesce(p.price_min, 0), p.title,
               case when p.storefront_version = p_version then p.storefront_json end
          from commerce.product p
         where p.tenant_id = p_tenant and p.status = 'active' and p.product_id = p_product;
end
$$;

create function storefront_doc_by_handle(p_tenant uuid, p_version integer, p_handle text)
returns table (product_id uuid, price_key bigint, title text, doc text)
language plpgsql volatile as $$
begin
    perform set_config('role', 'app_tenant', true);
    perform set_config('app.tenant_id', p_tenant::text, true);
    return query
        select p.product_id, coalesce(p.price_min, 0), p.title,
               case when p.storefront_version = p_version then p.storefront_json end
          from commerce.product p
         where p.tenant_id = p_tenant and p.status = 'active' and p.handle = p_handle;
end
$$;

-- Active products newest first (the storefront's default list), after the
-- cursor's product when one is given.
create function storefront_docs_newest(p_tenant uuid, p_version integer, p_after uuid, p_limit bigint)
returns table (product_id uuid, price_key bigint, title text, doc text)
language plpgsql volatile as $$
begin
    perform set_config('role', 'app_tenant', true);
    perform set_config('app.tenant_id', p_tenant::text, true);
    if p_after is null then
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active'
             order by p.product_id desc
             limit p_limit;
    else
        return query
            select p.product_id, coalesce(p.price_min, 0), p.title,
                   case when p.storefront_version = p_version then p.storefront_json end
              from commerce.product p
             where p.tenant_id = p_tenant and p.status = 'active' and p.product_id < p_after
             order by p.product_id desc
             limit p_limit;
    end if;
end
$$;
