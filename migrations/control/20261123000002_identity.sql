-- Plans, identity, per-store settings, idempotency and the audit log.

create table plan (
    plan_id              text primary key check (plan_id ~ '^[a-z][a-z0-9-]{1,31}$'),
    name                 text not null,
    requests_per_second  integer not null check (requests_per_second > 0),
    max_products         integer not null check (max_products > 0),
    max_staff            integer not null check (max_staff > 0),
    created_at           timestamptz not null default now()
);

insert into plan (plan_id, name, requests_per_second, max_products, max_staff) values
    ('starter', 'Starter', 50, 1000, 3),
    ('growth', 'Growth', 200, 100000, 15),
    ('enterprise', 'Enterprise', 2000, 10000000, 500);

alter table tenant add constraint tenant_plan_fkey foreign key (plan) references plan (plan_id);
alter table tenant add column branding jsonb not null default '{}'::jsonb;
alter table tenant add column deleted_at timestamptz;
alter table tenant add column purged_at timestamptz;
-- 'provisioning': the registry row exists but the cell step has not finished; the
-- data plane answers 404 until it has.
alter table tenant drop constraint tenant_status_check;
alter table tenant add constraint tenant_status_check
    check (status in ('provisioning', 'active', 'suspended', 'deleted'));

-- People who sign in: store staff and platform admins. Email is unique ignoring case.
create table account (
    account_id         uuid primary key,
    email              text not null check (position('@' in email) > 1 and length(email) <= 254),
    password_hash      text,
    is_platform_admin  boolean not null default false,
    oidc_issuer        text,
    oidc_subject       text,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now()
);
create unique index account_email_key on account (lower(email));
create unique index account_oidc_key on account (oidc_issuer, oidc_subject) where oidc_subject is not null;

create table membership (
    tenant_id   uuid not null references tenant (tenant_id) on delete cascade,
    account_id  uuid not null references account (account_id) on delete cascade,
    role        text not null check (role in ('owner', 'admin', 'staff')),
    created_at  timestamptz not null default now(),
    primary key (tenant_id, account_id)
);
create index membership_account_idx on membership (account_id);

-- JWT signing keys (Ed25519). The private key is sealed with the master key.
create table signing_key (
    kid          text primary key,
    algorithm    text not null default 'EdDSA' check (algorithm = 'EdDSA'),
    public_key   bytea not null check (length(public_key) = 32),
    private_key  text not null,
    created_at   timestamptz not null default now(),
    retired_at   timestamptz
);

-- Refresh tokens rotate: each use marks the row used and issues a new one in the
-- same family. A second use of a used token revokes the whole family (theft).
create table refresh_token (
    token_hash   bytea primary key,
    family_id    uuid not null,
    account_id   uuid not null references account (account_id) on delete cascade,
    tenant_id    uuid references tenant (tenant_id) on delete cascade,
    role         text not null,
    expires_at   timestamptz not null,
    used_at      timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz not null default now()
);
create index refresh_token_family_idx on refresh_token (family_id);

-- Per-store API keys: shown once, stored as SHA-256 (they are 256-bit random, so a
-- slow hash adds nothing), scoped and revocable.
create table api_key (
    api_key_id    uuid primary key,
    tenant_id     uuid not null references tenant (tenant_id) on delete cascade,
    name          text not null check (length(name) between 1 and 100),
    prefix        text not null,
    key_hash      bytea not null unique,
    scopes        text[] not null,
    created_by    uuid references account (account_id) on delete set null,
    created_at    timestamptz not null default now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
create index api_key_tenant_idx on api_key (tenant_id, api_key_id);

-- Secrets are sealed (AES-256-GCM, "<key id>:<base64>") with their last four
-- characters kept beside them for display.
create table tenant_payment_settings (
    tenant_id                 uuid primary key references tenant (tenant_id) on delete cascade,
    provider                  text not null default 'test' check (provider in ('test', 'stripe')),
    stripe_secret_key         text,
    stripe_secret_key_last4   text,
    stripe_webhook_secret     text,
    stripe_webhook_secret_last4 text,
    stripe_account_id         text,
    updated_at                timestamptz not null default now()
);

create table tenant_notification_settings (
    tenant_id             uuid primary key references tenant (tenant_id) on delete cascade,
    email_from            text,
    smtp_host             text,
    smtp_port             integer check (smtp_port between 1 and 65535),
    smtp_username         text,
    smtp_password         text,
    smtp_password_last4   text,
    sms_account_sid       text,
    sms_auth_token        text,
    sms_auth_token_last4  text,
    sms_from              text,
    updated_at            timestamptz not null default now()
);

-- Idempotency for control-plane POSTs: scope names the endpoint and caller. The
-- response is sealed, since it may carry credentials.
create table idempotency_record (
    scope         text not null,
    key           text not null check (length(key) between 1 and 255),
    request_hash  bytea not null,
    status_code   integer,
    response      text,
    created_at    timestamptz not null default now(),
    primary key (scope, key)
);
create index idempotency_record_created_idx on idempotency_record (created_at);

-- Append-only record of every mutation.
create table audit_log (
    audit_id     uuid primary key,
    occurred_at  timestamptz not null default now(),
    actor        text not null,
    actor_id     uuid,
    tenant_id    uuid,
    action       text not null,
    before       jsonb,
    after        jsonb,
    request_id   text
);
create index audit_log_tenant_idx on audit_log (tenant_id, audit_id desc);
create index audit_log_actor_idx on audit_log (actor_id, audit_id desc);

create function audit_log_is_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only';
end
$$;
create trigger audit_log_append_only before update or delete on audit_log
    for each row execute function audit_log_is_append_only();
