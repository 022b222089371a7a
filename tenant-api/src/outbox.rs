//! The transactional outbox: every state change writes its event in the same
//! transaction, and the worker's relay publishes events in id (time) order.
//!
//! **Invariant:** an event exists if and only if its change committed.
//!
//! **Invariant:** an event is published together with its deliveries: the
//! relay fans each event out (`notifications::fanout`: merchant webhooks,
//! and the email and SMS hooks) in the transaction that marks it published,
//! so none is lost between the two and none fanned out twice. Sending is the
//! delivery job's (`notifications::delivery`).
//!
//! Published events are also streamed to NATS JetStream when `NATS_URL` is
//! set ([`nats`]), by a job of their own.

pub mod nats;

use axum::extract::FromRef;
use platform::db::{Db, SystemTx, TenantTx};
use uuid::Uuid;

use crate::{notifications::fanout, worker::sweep};

/// Writes an event about an aggregate (any typed id: an order, a customer)
/// in the caller's transaction.
pub async fn insert(
    tx: &mut TenantTx,
    topic: &str,
    aggregate_id: impl AsRef<Uuid>,
    payload: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into outbox_event (tenant_id, event_id, topic, aggregate_id, payload) values ($1, $2, $3, $4, $5)",
    )
    .bind(tx.tenant_id())
    .bind(Uuid::now_v7())
    .bind(topic)
    .bind(aggregate_id.as_ref())
    .bind(payload)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One relay pass over every cell: takes up to `batch` unpublished events in id
/// order (`for update skip locked`, so relays on several workers share the
/// queue without taking the same event), fans them out into deliveries and
/// marks them published, in one transaction per cell.
/// Returns how many were published. Takes any state the database derives from.
pub async fn relay_once<S>(state: &S, batch: i64) -> anyhow::Result<u64>
where
    Db: FromRef<S>,
{
    let db = Db::from_ref(state);
    let mut published = 0;
    for cell in sweep::cells(&db).await? {
        let mut tx = db.system_tx(&cell).await?;
        published += relay_cell(&mut tx, batch).await?;
        tx.commit().await?;
    }
    Ok(published)
}

async fn relay_cell(tx: &mut SystemTx, batch: i64) -> anyhow::Result<u64> {
    let events: Vec<fanout::Event> = sqlx::query_as(
        "select tenant_id, event_id, topic, aggregate_id, payload, created_at from outbox_event \
         where published_at is null order by event_id limit $1 for update skip locked",
    )
    .bind(batch)
    .fetch_all(&mut **tx)
    .await?;
    if events.is_empty() {
        return Ok(0);
    }
    let deliveries = fanout::fan_out(tx, &events).await?;
    for e in &events {
        tracing::info!(tenant_id = %e.tenant_id, event_id = %e.event_id, topic = e.topic,
            aggregate_id = %e.aggregate_id, "outbox event published");
        metrics::counter!("outbox_events_published_total", "topic" => e.topic.clone()).increment(1);
    }
    metrics::counter!("notification_deliveries_created_total").increment(deliveries);
    let tenants: Vec<Uuid> = events.iter().map(|e| e.tenant_id).collect();
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let done = sqlx::query(
        "update outbox_event e set published_at = now() from unnest($1::uuid[], $2::uuid[]) as p(tenant_id, event_id) \
         where e.tenant_id = p.tenant_id and e.event_id = p.event_id",
    )
    .bind(&tenants)
    .bind(&ids)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(done)
}
