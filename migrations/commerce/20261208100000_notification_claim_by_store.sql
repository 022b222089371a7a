-- The delivery job's claim walks the stores with pending deliveries (a skip
-- scan over this index, one probe per store) and takes each store's
-- longest-due few from it, instead of numbering every due delivery of the
-- cell: with 100,000 pending the claim cost 198 ms and now 2 ms, and it no
-- longer grows with the backlog (tenant-api/src/notifications/repo.rs,
-- `claim`).
create index notification_delivery_store_due_idx
    on notification_delivery (tenant_id, next_attempt_at, delivery_id) where status = 'pending';
drop index notification_delivery_due_idx;
