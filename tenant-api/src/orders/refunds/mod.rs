//! Refunds: money going back to a shopper, booked only when the provider
//! that took the payment accepted it.
//!
//! **Invariant:** a refund is a record per attempt. It is decided under the
//! order's row lock and written `pending`, naming the provider of the
//! payment; that provider is asked with the refund's id as its idempotency
//! key; the answer is booked under the order's lock again: `succeeded` adds
//! to the order's `refunded_total` and the payment's refunded amount (and
//! moves the order's status) in the same transaction, `failed` changes
//! nothing else, and no answer leaves it `pending` for [`settle_due`], the
//! worker job that asks again with backoff and flags it `needs_attention`
//! after [`MAX_ATTEMPTS`]. Pending refunds count against what is left to
//! refund, so concurrent refunds can never pass the order's total, and a
//! refund replayed with its `Idempotency-Key` finds its record instead of
//! refunding again.

pub mod model;
pub mod repo;

use std::time::Duration;

use axum::extract::FromRef;
use platform::{db::TenantTx, extract::Page, money::Money, problem::FieldError, tenancy::Tenant};

use self::{
    model::{RefundFilter, RefundKind, RefundRecord, RefundStatus},
    repo::NewRefund,
};
use super::{
    model::{Locked, OrderId, OrderStatus, TransitionData},
    repo as orders_repo, Error,
};
use crate::{
    payments::{
        self,
        breaker::CircuitOpen,
        model::RefundId,
        provider::{Refund, RefundOutcome},
        Merchant, PaymentsState,
    },
    worker::sweep,
};

/// Failed attempts (no answer) before a refund is flagged for an admin.
pub const MAX_ATTEMPTS: i32 = 8;
/// How long one ask of the provider may take before its outcome counts as
/// unknown (the refund stays pending; the worker asks again).
const ASK_TIMEOUT: Duration = Duration::from_secs(5);
/// How soon a refund the provider called pending is asked about again.
const POLL_SECS: f64 = 30.0;
/// How long whoever recorded or claimed a refund has it before the worker
/// may take it up.
const LEASE_SECS: f64 = 30.0;
/// How many due refunds one worker run takes per cell, and per store.
const BATCH: i64 = 100;
const PER_STORE: i64 = 10;

/// A refund staff asked for.
#[derive(Clone, Debug, Default)]
pub struct RefundAsk {
    /// Minor units; everything not yet refunded when `None`.
    pub amount: Option<i64>,
    pub reason: Option<String>,
    /// The request's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

/// Refunds part or all of an order: the refund as it stands after asking the
/// provider once (`pending` when the provider gave no answer).
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn refund(
    state: &PaymentsState,
    tenant: &Tenant,
    id: OrderId,
    ask: RefundAsk,
) -> Result<RefundRecord, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let locked = orders_repo::lock_order(&mut tx, id).await?.ok_or(Error::OrderNotFound)?;
    // Read under the order's lock: a replay running beside the first request
    // waits for it and finds its record.
    if let Some(key) = ask.idempotency_key.as_deref() {
        if let Some(found) = repo::by_key(&mut tx, id, key).await? {
            if ask.amount.is_some_and(|amount| amount != found.amount.amount) {
                return Err(Error::IdempotencyMismatch);
            }
            drop(tx);
            return settle_now(state, tenant, found).await;
        }
    }
    if !locked.status.can_become(OrderStatus::Refunded) {
        return Err(Error::IllegalTransition { from: locked.status, to: OrderStatus::Refunded });
    }
    let record = start(
        &mut tx,
        id,
        &locked,
        Start {
            amount: ask.amount,
            kind: RefundKind::Refund,
            reason: ask.reason.as_deref(),
            idempotency_key: ask.idempotency_key.as_deref(),
        },
    )
    .await?;
    tx.commit().await?;
    settle_now(state, tenant, record).await
}

/// What [`start`] records.
pub(crate) struct Start<'a> {
    /// Everything left when `None`.
    pub amount: Option<i64>,
    pub kind: RefundKind,
    pub reason: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

/// Records a pending refund of an order whose row `locked` was read under
/// the lock this transaction holds: at most what is left once refunds
/// booked and pending are taken off, through the provider of its payment.
pub(crate) async fn start(
    tx: &mut TenantTx,
    id: OrderId,
    locked: &Locked,
    start: Start<'_>,
) -> Result<RefundRecord, Error> {
    let pending = repo::pending_total(tx, id).await?;
    let left = locked.total - locked.refunded_total - pending;
    let amount = start.amount.unwrap_or(left);
    if amount <= 0 || amount > left {
        let why = if pending > 0 {
            format!("must be more than 0 and at most {left} (what is left to refund; {pending} is being refunded)")
        } else {
            format!("must be more than 0 and at most {left} (what is left to refund)")
        };
        return Err(Error::Invalid(vec![FieldError::new("amount", why)]));
    }
    let Some((_, provider)) = payments::repo::succeeded_payment(tx, id).await? else {
        return Err(Error::RefundRefused("nothing was charged for this order".into()));
    };
    let new = NewRefund {
        id: RefundId::new(),
        order: id,
        amount: Money::new(amount, locked.currency),
        kind: start.kind,
        provider,
        reason: start.reason,
        idempotency_key: start.idempotency_key,
        first_attempt_in_secs: LEASE_SECS,
    };
    Ok(repo::insert(tx, &new).await?)
}

/// Asks the provider about a pending refund now and books the answer; a
/// settled refund is returned as it is.
pub(crate) async fn settle_now(
    state: &PaymentsState,
    tenant: &Tenant,
    record: RefundRecord,
) -> Result<RefundRecord, Error> {
    if record.status != RefundStatus::Pending {
        return Ok(record);
    }
    let merchant = Merchant { tenant_id: tenant.id, cell: state.db.cell(&tenant.cell_id).await? };
    Ok(attempt(state, &merchant, record).await?)
}

/// One ask of the provider of the refund's payment, and its answer booked.
async fn attempt(state: &PaymentsState, merchant: &Merchant, record: RefundRecord) -> anyhow::Result<RefundRecord> {
    let id = record.id;
    let Some(kind) = record.provider else {
        anyhow::bail!("refund {id} names no provider");
    };
    let answer = match state.provider_of(merchant.tenant_id, kind).await? {
        Err(why) => Err(format!("the payment's provider cannot be reached: {why}")),
        Ok(provider) => {
            let ask = Refund { order: record.order, id, amount: record.amount, reason: record.reason.as_deref() };
            match tokio::time::timeout(ASK_TIMEOUT, provider.refund(merchant, ask)).await {
                Ok(Ok(outcome)) => Ok(outcome),
                // The account's circuit is open: the provider was not asked,
                // so this is no failed attempt; ask again once it may close.
                Ok(Err(e)) if CircuitOpen::of(&e).is_some() => {
                    let wait = CircuitOpen::of(&e).map_or(POLL_SECS, |open| open.retry_after_secs() as f64);
                    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
                    repo::retry_later(&mut tx, id, None, None, wait, MAX_ATTEMPTS).await?;
                    let after =
                        repo::lock(&mut tx, id).await?.ok_or_else(|| anyhow::anyhow!("refund {id} vanished"))?;
                    tx.commit().await?;
                    return Ok(after);
                }
                Ok(Err(e)) => Err(format!("{e:#}")),
                Err(_) => Err(format!("no answer within {ASK_TIMEOUT:?}")),
            }
        }
    };
    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
    match answer {
        Ok(RefundOutcome::Succeeded { reference }) => book(&mut tx, &record, reference.as_deref()).await?,
        Ok(RefundOutcome::Failed { code }) => fail(&mut tx, &record, &code).await?,
        Ok(RefundOutcome::Pending { reference }) => {
            repo::retry_later(&mut tx, id, reference.as_deref(), None, POLL_SECS, MAX_ATTEMPTS).await?
        }
        Err(error) => {
            tracing::warn!(refund_id = %id, order_id = %record.order, error, "refund outcome unknown; retrying later");
            repo::retry_later(&mut tx, id, None, Some(&error), POLL_SECS, MAX_ATTEMPTS).await?
        }
    }
    let after = repo::lock(&mut tx, id).await?.ok_or_else(|| anyhow::anyhow!("refund {id} vanished"))?;
    tx.commit().await?;
    Ok(after)
}

/// The provider accepted: the refund succeeded, booked on the payment and
/// the order, decided on both rows read under their locks (order first,
/// then refund, as everywhere). A refund another path booked first is left
/// as it is.
async fn book(tx: &mut TenantTx, record: &RefundRecord, reference: Option<&str>) -> anyhow::Result<()> {
    let order = record.order;
    let locked = orders_repo::lock_order(tx, order).await?.ok_or_else(|| anyhow::anyhow!("order {order} vanished"))?;
    let Some(current) = repo::lock(tx, record.id).await? else { anyhow::bail!("refund {} vanished", record.id) };
    if current.status != RefundStatus::Pending {
        return Ok(());
    }
    let amount = current.amount.amount;
    repo::settle(tx, current.id, RefundStatus::Succeeded, reference, None).await?;
    payments::repo::add_refunded(tx, order, amount).await?;
    if locked.status.can_become(OrderStatus::Refunded) {
        let to = if locked.refunded_total + amount == locked.total {
            OrderStatus::Refunded
        } else {
            OrderStatus::PartiallyRefunded
        };
        let mut data = TransitionData { refund: amount, ..TransitionData::default() };
        data.event.insert("refund_id".into(), current.id.to_string().into());
        orders_repo::transition(tx, order, locked.status, to, data)
            .await?
            .ok_or_else(|| anyhow::anyhow!("order {order} changed under its row lock"))?;
    } else {
        // Cancelled (by staff, or expired before a late charge): the status stays.
        repo::add_to_order(tx, order, amount).await?;
    }
    repo::announce(tx, &current, RefundStatus::Succeeded).await
}

/// The provider refused: the refund failed and nothing else changes.
async fn fail(tx: &mut TenantTx, record: &RefundRecord, code: &str) -> anyhow::Result<()> {
    let Some(current) = repo::lock(tx, record.id).await? else { anyhow::bail!("refund {} vanished", record.id) };
    if current.status != RefundStatus::Pending {
        return Ok(());
    }
    tracing::warn!(refund_id = %current.id, order_id = %current.order, code, "the provider refused a refund");
    repo::settle(tx, current.id, RefundStatus::Failed, None, Some(code)).await?;
    repo::announce(tx, &current, RefundStatus::Failed).await
}

/// Gives back a charge that landed on an order which had stopped waiting for
/// it (its hold expired, or staff cancelled it): records a pending refund of
/// what is not refunded yet, in the caller's transaction, for the caller or
/// the worker to settle. `None` when the order is not in that state (it was
/// paid after all) or nothing is left to give back.
pub(crate) async fn give_back(tx: &mut TenantTx, id: OrderId) -> anyhow::Result<Option<RefundRecord>> {
    let Some(locked) = orders_repo::lock_order(tx, id).await? else { return Ok(None) };
    if !matches!(locked.status, OrderStatus::Cancelled | OrderStatus::PaymentFailed) {
        return Ok(None);
    }
    let pending = repo::pending_total(tx, id).await?;
    if locked.total - locked.refunded_total - pending <= 0 {
        return Ok(None);
    }
    let start =
        Start { amount: None, kind: RefundKind::LateCharge, reason: Some("order expired"), idempotency_key: None };
    match self::start(tx, id, &locked, start).await {
        Ok(record) => Ok(Some(record)),
        // No succeeded charge: nothing to give back.
        Err(Error::RefundRefused(_)) => Ok(None),
        Err(Error::Internal(e)) => Err(e),
        Err(other) => Err(anyhow::anyhow!("giving back a late charge: {other}")),
    }
}

/// Every refund of an order, oldest first.
pub async fn of_order(tx: &mut TenantTx, id: OrderId) -> Result<Vec<RefundRecord>, Error> {
    Ok(repo::for_order(tx, id).await?)
}

/// The store's refunds, newest first.
pub async fn list(tx: &mut TenantTx, filter: &RefundFilter, page: Page) -> Result<Vec<RefundRecord>, Error> {
    Ok(repo::list(tx, filter, page).await?)
}

/// An admin asks for a pending refund to be tried again now (after it was
/// flagged): it is asked at once, and the worker takes over if needed.
pub async fn retry(state: &PaymentsState, tenant: &Tenant, id: RefundId) -> Result<RefundRecord, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let found = repo::lock(&mut tx, id).await?.ok_or(Error::RefundNotFound)?;
    repo::retry_now(&mut tx, id).await?;
    tx.commit().await?;
    settle_now(state, tenant, found).await
}

/// Worker: asks the provider again about every due pending refund of every
/// store, each on its own (one refund's or one store's failure is recorded
/// on its record and never stops the others). Returns how many it settled.
pub async fn settle_due<S>(state: &S) -> anyhow::Result<usize>
where
    PaymentsState: FromRef<S>,
{
    let state = PaymentsState::from_ref(state);
    let mut settled = 0;
    for cell in sweep::cells(&state.db).await? {
        let pool = state.db.cell(&cell).await?;
        let mut tx = state.db.system_tx(&cell).await?;
        let due = repo::due(&mut tx, BATCH, PER_STORE).await?;
        drop(tx);
        for (tenant_id, id) in due {
            let merchant = Merchant { tenant_id, cell: pool.clone() };
            match settle_one(&state, &merchant, id).await {
                Ok(true) => settled += 1,
                Ok(false) => {}
                Err(e) => {
                    metrics::counter!("refund_settle_errors_total").increment(1);
                    tracing::warn!(%tenant_id, refund_id = %id, error = %format!("{e:#}"), "cannot settle a refund");
                }
            }
        }
    }
    if settled > 0 {
        tracing::info!(settled, "pending refunds settled");
    }
    Ok(settled)
}

async fn settle_one(state: &PaymentsState, merchant: &Merchant, id: RefundId) -> anyhow::Result<bool> {
    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
    let Some(record) = repo::claim(&mut tx, id, LEASE_SECS).await? else { return Ok(false) };
    tx.commit().await?;
    Ok(attempt(state, merchant, record).await?.status != RefundStatus::Pending)
}
