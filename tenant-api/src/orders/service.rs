//! Order rules: the saga's closing steps (shared with the worker's recovery),
//! and what staff do to orders afterwards.
//!
//! **Invariant:** every status change is decided on the order's row read
//! under its lock ([`repo::lock_order`]), then made by [`repo::transition`], a
//! compare-and-set on that status that writes its outbox event and moves the
//! order's stock in the same statement; a discount use comes back in the
//! same transaction. A change that waited on a
//! concurrent one sees its result, so an illegal change updates nothing.

use platform::{db::TenantTx, extract::Page, tenancy::Tenant};

use super::{
    model::{Locked, Order, OrderFilter, OrderId, OrderStatus, TransitionData, Transitioned},
    refunds::{self, model::RefundKind},
    repo, Error, OrdersState,
};
use crate::{checkout, inventory::reservations::Move, payments::model::ChargeOutcome};

/// The charge succeeded: `pending_payment → paid`, held stock committed (in
/// the transition's statement). `None` when the order was no longer waiting
/// (expired, cancelled, or already finished by another path).
pub async fn mark_paid(tx: &mut TenantTx, id: OrderId) -> anyhow::Result<Option<Transitioned>> {
    let data = TransitionData { stock: Some(Move::Commit), ..TransitionData::default() };
    from_pending(tx, id, OrderStatus::Paid, data).await
}

/// The charge was declined: `pending_payment → payment_failed`, held stock
/// released, the discount use given back.
pub async fn mark_failed(tx: &mut TenantTx, id: OrderId, code: &str) -> anyhow::Result<Option<Transitioned>> {
    let mut data = TransitionData { stock: Some(Move::Release), ..TransitionData::default() };
    data.event.insert("decline_code".into(), code.into());
    let Some(done) = from_pending(tx, id, OrderStatus::PaymentFailed, data).await? else {
        return Ok(None);
    };
    give_back_discount(tx, &done).await?;
    Ok(Some(done))
}

/// Settles an order awaiting payment with its charge's outcome: paid or
/// failed. `false` when the order was no longer waiting, or the outcome is
/// not final (the charge waits for the shopper or is processing: the order
/// keeps waiting with its hold).
pub async fn settle(tx: &mut TenantTx, id: OrderId, outcome: ChargeOutcome) -> anyhow::Result<bool> {
    Ok(match outcome {
        ChargeOutcome::Succeeded { .. } => mark_paid(tx, id).await?.is_some(),
        ChargeOutcome::Declined { code } => mark_failed(tx, id, &code).await?.is_some(),
        ChargeOutcome::RequiresAction { .. } | ChargeOutcome::Processing => false,
    })
}

/// Nobody paid before the hold expired: `pending_payment → cancelled`, held
/// stock released, the discount use given back. `None` when the order was no
/// longer waiting: a charge settled first keeps it paid (expiry never
/// cancels from `paid`).
pub async fn mark_expired(tx: &mut TenantTx, id: OrderId) -> anyhow::Result<Option<Transitioned>> {
    let data = TransitionData {
        cancel_reason: Some("expired".into()),
        stock: Some(Move::Release),
        ..TransitionData::default()
    };
    let Some(done) = from_pending(tx, id, OrderStatus::Cancelled, data).await? else {
        return Ok(None);
    };
    give_back_discount(tx, &done).await?;
    Ok(Some(done))
}

/// `pending_payment → to` if the order, read under its lock, still awaits
/// payment: [`repo::transition`]'s update takes the row lock and re-reads the
/// status under it, so a transition that waited on a concurrent `mark_paid`
/// finds `paid` and changes nothing (one statement, no separate `for update`).
async fn from_pending(
    tx: &mut TenantTx,
    id: OrderId,
    to: OrderStatus,
    data: TransitionData,
) -> anyhow::Result<Option<Transitioned>> {
    repo::transition(tx, id, OrderStatus::PendingPayment, to, data).await
}

/// An order that was never paid gives its discount use back.
async fn give_back_discount(tx: &mut TenantTx, done: &Transitioned) -> anyhow::Result<()> {
    if let Some(discount) = done.discount_code_id {
        checkout::service::unredeem(tx, discount).await?;
    }
    Ok(())
}

/// An order by id.
pub async fn order(tx: &mut TenantTx, id: OrderId) -> Result<Order, Error> {
    repo::find_order(tx, id).await?.ok_or(Error::OrderNotFound)
}

/// Orders newest first.
pub async fn list(tx: &mut TenantTx, filter: &OrderFilter, page: Page) -> Result<Vec<Order>, Error> {
    Ok(repo::list_orders(tx, filter, page).await?)
}

/// The order read under its lock, if it may become `to`: the state staff
/// operations decide on, held until their transaction ends.
async fn lock_for(tx: &mut TenantTx, id: OrderId, to: OrderStatus) -> Result<Locked, Error> {
    let locked = repo::lock_order(tx, id).await?.ok_or(Error::OrderNotFound)?;
    if !locked.status.can_become(to) {
        return Err(Error::IllegalTransition { from: locked.status, to });
    }
    Ok(locked)
}

/// [`repo::transition`] from a status read under the lock this transaction
/// still holds: it cannot find the row changed.
async fn transition_locked(
    tx: &mut TenantTx,
    id: OrderId,
    locked: &Locked,
    to: OrderStatus,
    data: TransitionData,
) -> Result<Transitioned, Error> {
    repo::transition(tx, id, locked.status, to, data)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("order {id} changed under its row lock")))
}

/// Ships an order with a tracking number.
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn fulfil(
    state: &OrdersState,
    tenant: &Tenant,
    id: OrderId,
    tracking_number: String,
    carrier: Option<String>,
) -> Result<Order, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let mut data = TransitionData {
        tracking_number: Some(tracking_number.clone()),
        carrier: carrier.clone(),
        ..TransitionData::default()
    };
    data.event.insert("tracking_number".into(), tracking_number.into());
    let locked = lock_for(&mut tx, id, OrderStatus::Fulfilled).await?;
    transition_locked(&mut tx, id, &locked, OrderStatus::Fulfilled, data).await?;
    let order = order(&mut tx, id).await?;
    tx.commit().await?;
    Ok(order)
}

/// Marks a shipped order delivered.
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn deliver(state: &OrdersState, tenant: &Tenant, id: OrderId) -> Result<Order, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let locked = lock_for(&mut tx, id, OrderStatus::Delivered).await?;
    transition_locked(&mut tx, id, &locked, OrderStatus::Delivered, TransitionData::default()).await?;
    let order = order(&mut tx, id).await?;
    tx.commit().await?;
    Ok(order)
}

/// Cancels an order. Before payment: releases the held stock. After
/// payment: puts the items back on hand (unless `restock` is false) and
/// refunds what was not refunded yet, through the provider of the payment.
///
/// The order's state is decided on its row read under its lock (a charge
/// settling concurrently is either before, and this refunds it, or after,
/// and finds the order cancelled and gives its money back), and the refund
/// is recorded `pending` in the same transaction as the cancellation, then
/// asked of the provider: booked when accepted, else settled by the worker.
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn cancel(
    state: &OrdersState,
    tenant: &Tenant,
    id: OrderId,
    reason: Option<String>,
    restock: bool,
) -> Result<Order, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let locked = lock_for(&mut tx, id, OrderStatus::Cancelled).await?;
    let unpaid = locked.status == OrderStatus::PendingPayment;
    let data = TransitionData {
        cancel_reason: reason.clone().or_else(|| Some("cancelled by staff".into())),
        // Held units are released; sold ones come back on the shelf if asked.
        stock: if unpaid { Some(Move::Release) } else { restock.then_some(Move::Restock) },
        ..Default::default()
    };
    let done = transition_locked(&mut tx, id, &locked, OrderStatus::Cancelled, data).await?;
    let mut refund = None;
    if unpaid {
        give_back_discount(&mut tx, &done).await?;
    } else {
        if locked.total - locked.refunded_total - refunds::repo::pending_total(&mut tx, id).await? > 0 {
            let start = refunds::Start {
                amount: None,
                kind: RefundKind::Cancellation,
                reason: Some(reason.as_deref().unwrap_or("order cancelled")),
                idempotency_key: None,
            };
            refund = Some(refunds::start(&mut tx, id, &locked, start).await?);
        }
    }
    tx.commit().await?;
    if let Some(refund) = refund {
        // The cancellation stands whatever the provider says now: a refund
        // without an answer stays pending and the worker settles it.
        refunds::settle_now(&state.payments, tenant, refund).await?;
    }
    let mut tx = state.db.tenant_tx(tenant).await?;
    order(&mut tx, id).await
}
