-- Optional publishing of domain events to NATS JetStream (`NATS_URL`): the
-- worker's `nats-publish` job streams events the relay has published, in id
-- order, and marks each one acknowledged by the stream. Null: not streamed
-- yet (or streaming is off). The table keeps its row-level security.
alter table outbox_event add column streamed_at timestamptz;

create index outbox_event_unstreamed_idx on outbox_event (event_id)
    where streamed_at is null and published_at is not null;
