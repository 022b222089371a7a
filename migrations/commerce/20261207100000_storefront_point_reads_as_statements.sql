-- The storefront's unfiltered lists (every order, with or without a cursor)
-- and its point reads by id and by handle are prepared statements of the
-- data plane now (`TenantCall::statement`, platform/src/db.rs): run on a
-- call lane whose connection is app_tenant for its life, with the tenant
-- context set in the same statement. Through a PL/pgSQL function the same
-- read cost PostgreSQL about half as much again in instructions (the
-- function's role switch and setting, SPI, and copying every row through
-- RETURN QUERY's result store; BENCHMARKS.md, round eight). Filtered lists
-- (category, collection, price range) stay storefront_docs_filtered.
drop function storefront_docs_newest(uuid, integer, uuid, bigint);
drop function storefront_doc_by_id(uuid, integer, uuid);
drop function storefront_doc_by_handle(uuid, integer, text);
drop function storefront_docs_sorted(uuid, integer, text, uuid, bigint, text, bigint);
