-- Signing keys per audience: staff and platform-admin tokens (`commerce-platform`)
-- are signed only by the control plane; shopper tokens (`commerce-storefront`) by
-- the data plane, with keys of their own. Every key before this migration signed
-- staff tokens, so it keeps that audience (shopper tokens it signed stop verifying:
-- shoppers use their refresh token, which is not a JWT).
alter table signing_key add column audience text not null default 'commerce-platform'
    check (audience in ('commerce-platform', 'commerce-storefront'));
-- From now on every insert names its audience.
alter table signing_key alter column audience drop default;

-- `retired_at` may lie in the future: a rotated key keeps verifying until then,
-- and the signer of its audience takes the newest key whose `retired_at` is null.
create index signing_key_audience_idx on signing_key (audience, created_at desc);
