-- The store's Stripe publishable key (`pk_…`): not a secret (Stripe.js uses it
-- in the shopper's browser), so it is kept in plain text. The storefront's
-- checkout page mounts Stripe's Payment Element with it.
alter table tenant_payment_settings add column stripe_publishable_key text
    check (stripe_publishable_key ~ '^pk_(test|live)_[A-Za-z0-9]{1,247}$');
