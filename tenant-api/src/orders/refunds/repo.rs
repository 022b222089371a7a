//! Refund SQL: the records of refund attempts, and the outbox event each
//! settled one writes.

use chrono::{DateTime, Utc};
use platform::{
    db::{SystemTx, TenantTx},
    extract::Page,
    ids::TenantId,
    money::{Currency, Money},
};
use uuid::Uuid;

use super::model::{RefundFilter, RefundKind, RefundRecord, RefundStatus};
use crate::{
    orders::model::OrderId,
    payments::{model::RefundId, ProviderKind},
    statements::{execute, fetch_all, fetch_optional, write_one},
};

const COLUMNS: &str = "refund_id, order_id, amount, currency, status, kind, provider, provider_refund_id, \
                       failure_code, reason, idempotency_key, attempts, last_error, needs_attention, \
                       next_attempt_at, created_at, settled_at";

#[derive(sqlx::FromRow)]
struct Row {
    refund_id: RefundId,
    order_id: OrderId,
    amount: i64,
    currency: String,
    status: String,
    kind: String,
    provider: Option<String>,
    provider_refund_id: Option<String>,
    failure_code: Option<String>,
    reason: Option<String>,
    idempotency_key: Option<String>,
    attempts: i32,
    last_error: Option<String>,
    needs_attention: bool,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    settled_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for RefundRecord {
    type Error = anyhow::Error;

    fn try_from(row: Row) -> anyhow::Result<Self> {
        let currency = Currency::parse(row.currency.trim()).ok_or_else(|| anyhow::anyhow!("bad stored currency"))?;
        let unknown = |what: &str, value: &str| anyhow::anyhow!("stored refund {what} {value:?} is unknown");
        Ok(RefundRecord {
            id: row.refund_id,
            order: row.order_id,
            amount: Money::new(row.amount, currency),
            status: RefundStatus::parse(&row.status).ok_or_else(|| unknown("status", &row.status))?,
            kind: RefundKind::parse(&row.kind).ok_or_else(|| unknown("kind", &row.kind))?,
            provider: row
                .provider
                .map(|p| ProviderKind::parse(&p).ok_or_else(|| unknown("provider", &p)))
                .transpose()?,
            provider_refund_id: row.provider_refund_id,
            failure_code: row.failure_code,
            reason: row.reason,
            idempotency_key: row.idempotency_key,
            attempts: row.attempts,
            last_error: row.last_error,
            needs_attention: row.needs_attention,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
            settled_at: row.settled_at,
        })
    }
}

fn records(rows: Vec<Row>) -> anyhow::Result<Vec<RefundRecord>> {
    rows.into_iter().map(RefundRecord::try_from).collect()
}

/// The refund made for `order` with this `Idempotency-Key`, if any.
pub async fn by_key(tx: &mut TenantTx, order: OrderId, key: &str) -> anyhow::Result<Option<RefundRecord>> {
    let sql = format!("select {COLUMNS} from refund where tenant_id = $1 and order_id = $2 and idempotency_key = $3");
    fetch_optional::<Row>(tx, &sql, (order, key)).await?.map(RefundRecord::try_from).transpose()
}

/// A refund, its row locked until the transaction ends.
pub async fn lock(tx: &mut TenantTx, id: RefundId) -> anyhow::Result<Option<RefundRecord>> {
    let sql = format!("select {COLUMNS} from refund where tenant_id = $1 and refund_id = $2 for update");
    fetch_optional::<Row>(tx, &sql, (id,)).await?.map(RefundRecord::try_from).transpose()
}

/// Every refund of an order, oldest first.
pub async fn for_order(tx: &mut TenantTx, order: OrderId) -> anyhow::Result<Vec<RefundRecord>> {
    let sql = format!("select {COLUMNS} from refund where tenant_id = $1 and order_id = $2 order by created_at");
    records(fetch_all(tx, &sql, (order,)).await?)
}

/// The store's refunds, newest first, filtered.
pub async fn list(tx: &mut TenantTx, filter: &RefundFilter, page: Page) -> anyhow::Result<Vec<RefundRecord>> {
    let sql = format!(
        "select {COLUMNS} from refund where tenant_id = $1 and ($2::uuid is null or refund_id < $2) \
           and ($3::text is null or status = $3) and ($4::boolean is null or needs_attention = $4) \
         order by refund_id desc limit $5"
    );
    let params = (page.after, filter.status.map(|s| s.as_str()), filter.needs_attention, page.limit);
    records(fetch_all(tx, &sql, params).await?)
}

/// What pending refunds of an order hold back from what is left to refund.
pub async fn pending_total(tx: &mut TenantTx, order: OrderId) -> anyhow::Result<i64> {
    let sql = "select coalesce(sum(amount), 0)::bigint from refund \
               where tenant_id = $1 and order_id = $2 and status = 'pending'";
    Ok(fetch_optional::<(i64,)>(tx, sql, (order,)).await?.map_or(0, |(sum,)| sum))
}

/// A refund to record as `pending`.
pub struct NewRefund<'a> {
    pub id: RefundId,
    pub order: OrderId,
    pub amount: Money,
    pub kind: RefundKind,
    pub provider: ProviderKind,
    pub reason: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    /// Until then the worker leaves it to whoever recorded it.
    pub first_attempt_in_secs: f64,
}

/// Records a refund as `pending`; the record as written.
pub async fn insert(tx: &mut TenantTx, refund: &NewRefund<'_>) -> anyhow::Result<RefundRecord> {
    let sql = format!(
        "insert into refund (tenant_id, refund_id, order_id, amount, currency, kind, provider, reason, \
                             idempotency_key, status, next_attempt_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', now() + make_interval(secs => $10)) \
         returning {COLUMNS}"
    );
    let params = (
        refund.id,
        refund.order,
        refund.amount.amount,
        refund.amount.currency.as_str(),
        refund.kind.as_str(),
        refund.provider.as_str(),
        refund.reason,
        refund.idempotency_key,
        refund.first_attempt_in_secs,
    );
    let row: Option<Row> = fetch_optional(tx, &sql, params).await?;
    row.ok_or_else(|| anyhow::anyhow!("refund insert returned nothing"))?.try_into()
}

/// Settles a pending refund: `succeeded` (with the provider's id) or `failed` (with its code).
pub async fn settle(
    tx: &mut TenantTx,
    id: RefundId,
    status: RefundStatus,
    reference: Option<&str>,
    failure_code: Option<&str>,
) -> anyhow::Result<()> {
    let sql = "update refund set status = $3, provider_refund_id = coalesce($4, provider_refund_id), \
                   failure_code = $5, settled_at = now(), updated_at = now(), last_error = null \
               where tenant_id = $1 and refund_id = $2 and status = 'pending'";
    anyhow::ensure!(
        write_one(tx, sql, (id, status.as_str(), reference, failure_code)).await?,
        "refund {id} was no longer pending"
    );
    Ok(())
}

/// Leaves a refund pending for a later attempt. `error` (no answer, a
/// provider that cannot be reached) counts as a failed attempt with
/// exponential backoff and jitter, and flags the refund after
/// `max_attempts`; without one (the provider said "pending") it is asked
/// again after `poll_secs`.
pub async fn retry_later(
    tx: &mut TenantTx,
    id: RefundId,
    reference: Option<&str>,
    error: Option<&str>,
    poll_secs: f64,
    max_attempts: i32,
) -> anyhow::Result<()> {
    let sql = "update refund set provider_refund_id = coalesce($3, provider_refund_id), \
                   attempts = attempts + ($4::text is not null)::int, \
                   last_error = left($4, 1000), \
                   next_attempt_at = now() + make_interval(secs => case when $4::text is null then $5 \
                       else least(600, 5 * power(2, attempts)) * (0.8 + random() * 0.4) end), \
                   needs_attention = needs_attention or ($4::text is not null and attempts + 1 >= $6), \
                   updated_at = now() \
               where tenant_id = $1 and refund_id = $2 and status = 'pending'";
    execute(tx, sql, (id, reference, error, poll_secs, max_attempts)).await?;
    Ok(())
}

/// An admin asks for another attempt now: the count and the flag start over.
pub async fn retry_now(tx: &mut TenantTx, id: RefundId) -> anyhow::Result<bool> {
    let sql = "update refund set attempts = 0, needs_attention = false, next_attempt_at = now(), updated_at = now() \
               where tenant_id = $1 and refund_id = $2 and status = 'pending'";
    Ok(write_one(tx, sql, (id,)).await?)
}

/// Takes a due pending refund for one attempt: it is not due again for
/// `lease_secs`, so other workers leave it alone meanwhile. `None` when it
/// is no longer due (settled, or taken by another worker).
pub async fn claim(tx: &mut TenantTx, id: RefundId, lease_secs: f64) -> anyhow::Result<Option<RefundRecord>> {
    let sql = format!(
        "update refund set next_attempt_at = now() + make_interval(secs => $3) \
         where tenant_id = $1 and refund_id = $2 and status = 'pending' and not needs_attention \
           and next_attempt_at <= now() \
         returning {COLUMNS}"
    );
    fetch_optional::<Row>(tx, &sql, (id, lease_secs)).await?.map(RefundRecord::try_from).transpose()
}

/// Adds a refund the provider accepted to an order whose status it does not
/// change (a cancelled order): `refunded_total` stays within the total.
pub async fn add_to_order(tx: &mut TenantTx, order: OrderId, amount: i64) -> anyhow::Result<()> {
    let sql = "update sales_order set refunded_total = refunded_total + $3, updated_at = now() \
               where tenant_id = $1 and order_id = $2 and refunded_total + $3 <= total";
    anyhow::ensure!(write_one(tx, sql, (order, amount)).await?, "refund of {amount} passes the total of order {order}");
    Ok(())
}

/// Writes `refund.succeeded` or `refund.failed` to the outbox.
pub async fn announce(tx: &mut TenantTx, refund: &RefundRecord, status: RefundStatus) -> anyhow::Result<()> {
    let topic = match status {
        RefundStatus::Succeeded => "refund.succeeded",
        RefundStatus::Failed => "refund.failed",
        RefundStatus::Pending => anyhow::bail!("a pending refund is not announced"),
    };
    let payload = serde_json::json!({
        "order_id": refund.order.to_string(), "refund_id": refund.id.to_string(),
        "amount": refund.amount.amount, "currency": refund.amount.currency.as_str(), "kind": refund.kind.as_str(),
    });
    let sql =
        "insert into outbox_event (tenant_id, event_id, topic, aggregate_id, payload) values ($1, $2, $3, $4, $5)";
    execute(tx, sql, (Uuid::now_v7(), topic, refund.order, payload)).await?;
    Ok(())
}

/// Worker: pending refunds due for an attempt, across every store of a cell,
/// at most `per_store` of each store so one store's backlog cannot fill the
/// batch: every store's longest-due first, then every store's second, and so
/// on. A skip scan walks the stores with pending refunds (one probe each of
/// `refund_store_due_idx`) and takes each store's first few from the same
/// index, so the cost follows the stores waiting, not the backlog.
pub async fn due(tx: &mut SystemTx, limit: i64, per_store: i64) -> anyhow::Result<Vec<(TenantId, RefundId)>> {
    Ok(sqlx::query_as(
        "with recursive stores as ( \
             (select tenant_id from refund where status = 'pending' and not needs_attention \
              order by tenant_id limit 1) \
             union all \
             select (select r.tenant_id from refund r \
                     where r.status = 'pending' and not r.needs_attention and r.tenant_id > s.tenant_id \
                     order by r.tenant_id limit 1) \
             from stores s where s.tenant_id is not null) \
         select d.tenant_id, d.refund_id from stores s \
         cross join lateral ( \
             select r.tenant_id, r.refund_id, r.next_attempt_at, \
                    row_number() over (order by r.next_attempt_at, r.refund_id) as n \
             from refund r \
             where r.tenant_id = s.tenant_id and r.status = 'pending' and not r.needs_attention \
               and r.next_attempt_at <= now() \
             order by r.next_attempt_at, r.refund_id limit $2) d \
         where s.tenant_id is not null \
         order by d.n, d.next_attempt_at, d.tenant_id limit $1",
    )
    .bind(limit)
    .bind(per_store)
    .fetch_all(&mut **tx)
    .await?)
}
