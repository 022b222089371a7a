-- Failures of the worker's jobs, per store and per subject (an order, a
-- refund): one row while a subject keeps failing, deleted when it succeeds.
--
-- A failed subject waits until `next_attempt_at` (exponential backoff with
-- jitter) and, after the worker's maximum attempts, is left alone with
-- `needs_attention` set until staff retry it; the jobs' scans skip both, so one
-- store's broken provider neither repeats every tick nor delays another store.
-- `job_attempt_id` (UUIDv7, set on the first failure) keys the staff listing.
create table job_attempt (
    tenant_id        uuid not null,
    job              text not null check (length(job) between 1 and 64),
    subject          uuid not null,
    job_attempt_id   uuid not null,
    attempts         int not null check (attempts >= 1),
    next_attempt_at  timestamptz not null,
    last_error       text not null check (length(last_error) <= 1000),
    needs_attention  boolean not null default false,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    primary key (tenant_id, job, subject)
);

-- The staff listing, newest first by id.
create unique index job_attempt_listing on job_attempt (tenant_id, job_attempt_id);

alter table job_attempt enable row level security;
alter table job_attempt force row level security;
create policy tenant_isolation on job_attempt
    using (tenant_id = current_tenant_id()) with check (tenant_id = current_tenant_id());
