-- Platform API tokens: long-lived bearer tokens for fleet automation (the
-- Terraform provider, CI) that act as the platform admin who minted them.
-- Only a SHA-256 of the token is kept; revoking one, or the minting account
-- losing platform-admin rights, ends it at once (looked up on every request).
create table platform_token (
    platform_token_id uuid primary key,
    name              text not null check (length(name) between 1 and 100),
    prefix            text not null,
    token_hash        bytea not null unique,
    created_by        uuid not null references account (account_id) on delete cascade,
    created_at        timestamptz not null default now(),
    expires_at        timestamptz,
    revoked_at        timestamptz
);
