-- Roles of the tenancy model. Runs with search_path = commerce.
--
-- app_tenant: what every tenant-scoped transaction switches to (SET LOCAL ROLE).
--             No BYPASSRLS, owns nothing, so row-level security always applies.
-- app_system: the explicitly named cross-tenant path (workers, provisioning,
--             purges). BYPASSRLS.
-- Roles are cluster-wide: created once, guarded so every cell's migration can run.
-- Creating a BYPASSRLS role needs a superuser; in production ops create both roles
-- beforehand and these blocks do nothing.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'app_tenant') then
        create role app_tenant nologin nobypassrls;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'app_system') then
        create role app_system nologin bypassrls;
    end if;
end
$$;

-- The login role of the services must be able to switch to both.
do $$
begin
    execute format('grant app_tenant to %I', current_user);
    execute format('grant app_system to %I', current_user);
exception when others then
    -- a superuser is a member of every role already; grants to it may be refused
    null;
end
$$;

grant usage on schema commerce to app_tenant, app_system;

-- Every table and sequence a later migration creates in this schema gets the same
-- grants, so a new table cannot be forgotten here (its RLS is guarded by a test).
alter default privileges in schema commerce
    grant select, insert, update, delete on tables to app_tenant, app_system;
alter default privileges in schema commerce
    grant usage, select on sequences to app_tenant, app_system;

-- The tenant of the current transaction, or null when none was set. nullif: once a
-- session has seen the setting, "unset" reads back as '' rather than null.
create function current_tenant_id() returns uuid
    language sql stable parallel safe
    as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;
