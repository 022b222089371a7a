-- The refund-settling job walks the stores with pending refunds (a skip scan
-- over this index, one probe per store) and takes each store's longest-due
-- few from it, as the delivery claim does, instead of numbering every due
-- refund of the cell (tenant-api/src/orders/refunds/repo.rs, `due`).
-- Flagged refunds wait for an admin, not the job: the index leaves them out.
create index refund_store_due_idx
    on refund (tenant_id, next_attempt_at, refund_id) where status = 'pending' and not needs_attention;
drop index refund_pending_idx;
