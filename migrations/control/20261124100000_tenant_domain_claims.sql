-- Custom domains: a pending claim no longer blocks other stores.
--
-- With `host` as the primary key, the first store to *add* a host owned it, so
-- any store could squat a brand's domain just by adding it, and the brand could
-- never prove it. Now each store keeps its own pending claim (with its own
-- token) and only a *verified* host is unique: the first store to publish its
-- TXT record wins, and a verified host refuses every other claim.

alter table tenant_domain drop constraint tenant_domain_pkey;
alter table tenant_domain add primary key (tenant_id, host);
drop index tenant_domain_tenant_idx;

-- Host → store resolution reads this index (`where host = $1 and verified_at is not null`).
create unique index tenant_domain_verified_host_key on tenant_domain (host) where verified_at is not null;
-- "Does another store hold this host?" for pending claims too.
create index tenant_domain_host_idx on tenant_domain (host);
