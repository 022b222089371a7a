-- The storefront's point reads and its default list keep one generic plan.
--
-- PostgreSQL plans a PL/pgSQL function's statements as it does a prepared
-- statement's: custom plans (planned for the call's values) for the first
-- five calls on a connection, then the generic plan only if it does not
-- look costlier than they did. For the newest-first list it did, once a
-- store held a few hundred products (the generic plan cannot see the
-- limit), so every call planned its statement again: planning was most of
-- the database's time per cold list, and the list served 3.4–4.1k instead
-- of 5.5–6.6k requests a second on the bench's catalog (BENCHMARKS.md,
-- round seven). Their statements look rows up by the tenant's index and an
-- id, a handle or a keyset with a limit, whose generic plan is the plan.
--
-- The setting is the function's own (SET clause): it applies while the
-- function runs and is restored when it returns, like the role and the
-- tenant context the function sets.

alter function storefront_docs_newest(uuid, integer, uuid, bigint)
    set plan_cache_mode = force_generic_plan;
alter function storefront_doc_by_id(uuid, integer, uuid)
    set plan_cache_mode = force_generic_plan;
alter function storefront_doc_by_handle(uuid, integer, text)
    set plan_cache_mode = force_generic_plan;
