//! Optional publishing of domain events to NATS JetStream, for platform-level
//! consumers (analytics, search, other services), off unless `NATS_URL` is set.
//!
//! The worker's `nats-publish` job streams the events the relay has published
//! (`published_at` set, `streamed_at` not), in id order, to the subject
//! `<NATS_SUBJECT_PREFIX>.<topic>` of the stream `NATS_STREAM`, and marks each
//! one the stream acknowledged. Each message carries `Nats-Msg-Id: <event_id>`,
//! so a message published again after an acknowledgement was lost (a worker
//! killed before its commit, a time-out) is dropped by the stream's duplicate
//! window: at least once, exactly once within the window.
//!
//! **Invariant:** the stream never holds up the outbox. The relay, webhooks,
//! email and SMS do not read `streamed_at`; NATS being down fails only this
//! job's runs (nothing is marked, the next run retries).

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, message::PublishMessage};
use axum::extract::FromRef;
use chrono::{DateTime, Utc};
use platform::db::{Db, SystemTx};
use serde::Serialize;
use uuid::Uuid;

use crate::{settings::CommerceSettings, worker::sweep};

/// Where events go and the connection there, made on first use and kept
/// while it works.
pub struct EventStream {
    url: String,
    subject_prefix: String,
    stream: String,
    timeout: Duration,
    context: tokio::sync::Mutex<Option<jetstream::Context>>,
}

impl EventStream {
    /// The stream `settings` name, or `None` when `NATS_URL` is empty (off).
    /// Connects nothing yet.
    pub fn new(settings: &CommerceSettings) -> Option<Self> {
        if settings.nats_url.trim().is_empty() {
            return None;
        }
        Some(Self {
            url: settings.nats_url.trim().to_owned(),
            subject_prefix: settings.nats_subject_prefix.clone(),
            stream: settings.nats_stream.clone(),
            timeout: Duration::from_millis(settings.nats_timeout_ms),
            context: tokio::sync::Mutex::new(None),
        })
    }

    /// The subject of events on `topic`: `commerce.events.order.paid`.
    pub fn subject(&self, topic: &str) -> String {
        format!("{}.{topic}", self.subject_prefix)
    }

    /// The JetStream context, connecting and making sure the stream exists
    /// first if there is none. Both are bounded by `NATS_TIMEOUT_MS`.
    async fn context(&self, cached: &mut Option<jetstream::Context>) -> anyhow::Result<jetstream::Context> {
        if let Some(context) = cached {
            return Ok(context.clone());
        }
        let options = async_nats::ConnectOptions::new()
            .name("tenant-api worker")
            .connection_timeout(self.timeout)
            .request_timeout(Some(self.timeout));
        let client = tokio::time::timeout(self.timeout, options.connect(self.url.as_str()))
            .await
            .context("connecting to NATS timed out")?
            .context("connecting to NATS")?;
        let mut context = jetstream::new(client);
        context.set_timeout(self.timeout);
        let config = jetstream::stream::Config {
            name: self.stream.clone(),
            subjects: vec![format!("{}.>", self.subject_prefix)],
            ..Default::default()
        };
        tokio::time::timeout(self.timeout, context.get_or_create_stream(config))
            .await
            .context("creating the NATS stream timed out")?
            .with_context(|| format!("creating the NATS stream {}", self.stream))?;
        *cached = Some(context.clone());
        Ok(context)
    }

    /// Publishes one event and waits for the stream's acknowledgement.
    async fn publish(&self, context: &jetstream::Context, event: &Event) -> anyhow::Result<()> {
        let body = serde_json::to_vec(&EventMessage {
            id: event.event_id,
            kind: &event.topic,
            store_id: event.tenant_id,
            aggregate_id: event.aggregate_id,
            created_at: crate::wire::timestamp(event.created_at),
            data: &event.payload,
        })?;
        let message = PublishMessage::build().payload(body.into()).message_id(event.event_id.to_string());
        let send = async {
            context.send_publish(self.subject(&event.topic), message).await?.await?;
            anyhow::Ok(())
        };
        tokio::time::timeout(self.timeout, send).await.context("NATS acknowledgement timed out")?
    }
}

/// The message body: the event with its store.
#[derive(Serialize)]
struct EventMessage<'a> {
    id: Uuid,
    #[serde(rename = "type")]
    kind: &'a str,
    store_id: Uuid,
    aggregate_id: Uuid,
    created_at: String,
    data: &'a serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct Event {
    tenant_id: Uuid,
    event_id: Uuid,
    topic: String,
    aggregate_id: Uuid,
    payload: serde_json::Value,
    created_at: DateTime<Utc>,
}

/// One pass over every cell: takes up to `batch` published, unstreamed events
/// per cell in id order (`for update skip locked`, so workers side by side
/// take different events), publishes them one by one and marks those
/// acknowledged, one transaction per cell. The first failure ends the run
/// with an error after the acknowledged ones are marked; the connection is
/// then dropped, so the next run connects and checks the stream again.
/// Returns how many were streamed.
pub async fn publish_once<S>(state: &S, stream: &EventStream, batch: i64) -> anyhow::Result<u64>
where
    Db: FromRef<S>,
{
    let db = Db::from_ref(state);
    let mut cached = stream.context.lock().await;
    let mut streamed = 0;
    for cell in sweep::cells(&db).await? {
        let mut tx = db.system_tx(&cell).await?;
        let (acked, failure) = publish_cell(&mut tx, stream, &mut cached, batch).await?;
        tx.commit().await?;
        streamed += acked;
        if let Some(e) = failure {
            *cached = None;
            return Err(e.context(format!("streaming the events of cell {cell}")));
        }
    }
    Ok(streamed)
}

/// How many were marked, and the publish failure that stopped the batch.
async fn publish_cell(
    tx: &mut SystemTx,
    stream: &EventStream,
    cached: &mut Option<jetstream::Context>,
    batch: i64,
) -> anyhow::Result<(u64, Option<anyhow::Error>)> {
    let events: Vec<Event> = sqlx::query_as(
        "select tenant_id, event_id, topic, aggregate_id, payload, created_at from outbox_event \
         where published_at is not null and streamed_at is null order by event_id limit $1 for update skip locked",
    )
    .bind(batch)
    .fetch_all(&mut **tx)
    .await?;
    if events.is_empty() {
        return Ok((0, None));
    }
    let (mut tenants, mut ids) = (Vec::new(), Vec::new());
    let mut failure = None;
    match stream.context(cached).await {
        Err(e) => failure = Some(e),
        Ok(context) => {
            for e in &events {
                if let Err(error) = stream.publish(&context, e).await {
                    failure = Some(error.context(format!("publishing event {}", e.event_id)));
                    break;
                }
                metrics::counter!("outbox_events_streamed_total", "topic" => e.topic.clone()).increment(1);
                tenants.push(e.tenant_id);
                ids.push(e.event_id);
            }
        }
    }
    let done = sqlx::query(
        "update outbox_event e set streamed_at = now() from unnest($1::uuid[], $2::uuid[]) as p(tenant_id, event_id) \
         where e.tenant_id = p.tenant_id and e.event_id = p.event_id",
    )
    .bind(&tenants)
    .bind(&ids)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok((done, failure))
}
