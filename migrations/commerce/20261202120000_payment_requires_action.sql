-- A Stripe charge may wait for the shopper to authenticate (3-D Secure): the
-- intent is `requires_action` until the shopper's browser finishes it and the
-- webhook settles the charge, or the hold expires and the intent is cancelled.
-- The order itself stays `pending_payment`; this is what tells its readers why.
alter table payment drop constraint payment_status_check;
alter table payment add constraint payment_status_check
    check (status in ('pending', 'requires_action', 'succeeded', 'failed'));
