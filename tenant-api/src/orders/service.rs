//! Order rules: the saga's closing steps (shared with the worker's recovery),
//! and what staff do to orders afterwards.
//!
//! **Invariant:** every status change is [`repo::transition`], a conditional
//! update that writes its outbox event in the same statement; stock moves in
//! the same transaction. An illegal or concurrent change updates nothing.

use platform::{db::TenantTx, extract::Page, money::Money, tenancy::Tenant};

use super::{
    model::{Order, OrderFilter, OrderId, OrderStatus, TransitionData, Transitioned},
    repo, Error, OrdersState,
};
use crate::{
    checkout,
    inventory::reservations,
    payments::{
        model::{ChargeOutcome, RefundId},
        provider::Refund,
        Merchant,
    },
};

/// The charge succeeded: `pending_payment → paid`, held stock committed.
/// `None` when the order was no longer waiting (expired, cancelled, or
/// already finished by another path).
pub async fn mark_paid(tx: &mut TenantTx, id: OrderId) -> anyhow::Result<Option<Transitioned>> {
    let Some(done) = repo::transition(tx, id, OrderStatus::Paid, TransitionData::default()).await? else {
        return Ok(None);
    };
    reservations::commit(tx, id.as_uuid()).await?;
    Ok(Some(done))
}

/// The charge was declined: `pending_payment → payment_failed`, held stock
/// released, the discount use given back.
pub async fn mark_failed(tx: &mut TenantTx, id: OrderId, code: &str) -> anyhow::Result<Option<Transitioned>> {
    let mut data = TransitionData::default();
    data.event.insert("decline_code".into(), code.into());
    let Some(done) = repo::transition(tx, id, OrderStatus::PaymentFailed, data).await? else {
        return Ok(None);
    };
    release(tx, id, &done).await?;
    Ok(Some(done))
}

/// Settles an order awaiting payment with its charge's outcome: paid or
/// failed. `false` when the order was no longer waiting.
pub async fn settle(tx: &mut TenantTx, id: OrderId, outcome: ChargeOutcome) -> anyhow::Result<bool> {
    Ok(match outcome {
        ChargeOutcome::Succeeded { .. } => mark_paid(tx, id).await?.is_some(),
        ChargeOutcome::Declined { code } => mark_failed(tx, id, &code).await?.is_some(),
    })
}

/// Nobody paid before the hold expired: `pending_payment → cancelled`.
pub async fn mark_expired(tx: &mut TenantTx, id: OrderId) -> anyhow::Result<Option<Transitioned>> {
    let data = TransitionData { cancel_reason: Some("expired".into()), ..TransitionData::default() };
    let Some(done) = repo::transition(tx, id, OrderStatus::Cancelled, data).await? else {
        return Ok(None);
    };
    release(tx, id, &done).await?;
    Ok(Some(done))
}

async fn release(tx: &mut TenantTx, id: OrderId, done: &Transitioned) -> anyhow::Result<()> {
    reservations::release(tx, id.as_uuid()).await?;
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

/// Why a transition changed nothing: no such order, or an illegal one.
async fn refused(tx: &mut TenantTx, id: OrderId, to: OrderStatus) -> Error {
    match repo::find_order(tx, id).await {
        Ok(Some(order)) => Error::IllegalTransition { from: order.status, to },
        Ok(None) => Error::OrderNotFound,
        Err(e) => Error::Internal(e),
    }
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
    if repo::transition(&mut tx, id, OrderStatus::Fulfilled, data).await?.is_none() {
        return Err(refused(&mut tx, id, OrderStatus::Fulfilled).await);
    }
    let order = order(&mut tx, id).await?;
    tx.commit().await?;
    Ok(order)
}

/// Marks a shipped order delivered.
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn deliver(state: &OrdersState, tenant: &Tenant, id: OrderId) -> Result<Order, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    if repo::transition(&mut tx, id, OrderStatus::Delivered, TransitionData::default()).await?.is_none() {
        return Err(refused(&mut tx, id, OrderStatus::Delivered).await);
    }
    let order = order(&mut tx, id).await?;
    tx.commit().await?;
    Ok(order)
}

/// Cancels an order. Before payment: releases the held stock. After payment:
/// restocks and refunds what was not refunded yet.
///
/// The order's state is decided first, in one transaction (so a concurrent
/// fulfilment or checkout cannot interleave), and the refund follows; the
/// refund is idempotent by its id.
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn cancel(state: &OrdersState, tenant: &Tenant, id: OrderId, reason: Option<String>) -> Result<Order, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let current = order(&mut tx, id).await?;
    if !current.status.can_become(OrderStatus::Cancelled) {
        return Err(Error::IllegalTransition { from: current.status, to: OrderStatus::Cancelled });
    }
    let paid = current.status != OrderStatus::PendingPayment;
    let refund = if paid { current.totals.total - current.refunded_total } else { 0 };
    let refund_id = RefundId::new();
    let mut data = TransitionData {
        cancel_reason: reason.or_else(|| Some("cancelled by staff".into())),
        refund,
        ..Default::default()
    };
    if refund > 0 {
        data.event.insert("refund_id".into(), refund_id.to_string().into());
    }
    let Some(done) = repo::transition(&mut tx, id, OrderStatus::Cancelled, data).await? else {
        return Err(refused(&mut tx, id, OrderStatus::Cancelled).await);
    };
    if done.from == OrderStatus::PendingPayment {
        release(&mut tx, id, &done).await?;
    } else {
        reservations::restock(&mut tx, id.as_uuid()).await?;
    }
    tx.commit().await?;
    if refund > 0 {
        refund_at_provider(state, tenant, id, refund_id, current.money(refund), Some("order cancelled")).await?;
    }
    let mut tx = state.db.tenant_tx(tenant).await?;
    order(&mut tx, id).await
}

/// Refunds `amount` (everything not yet refunded when `None`):
/// `refunded` when nothing is left, `partially_refunded` otherwise.
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn refund(
    state: &OrdersState,
    tenant: &Tenant,
    id: OrderId,
    amount: Option<i64>,
    reason: Option<String>,
) -> Result<Order, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let current = order(&mut tx, id).await?;
    if !current.status.can_become(OrderStatus::Refunded) {
        return Err(Error::IllegalTransition { from: current.status, to: OrderStatus::Refunded });
    }
    let left = current.totals.total - current.refunded_total;
    let amount = amount.unwrap_or(left);
    if amount <= 0 || amount > left {
        return Err(Error::Invalid(vec![platform::problem::FieldError::new(
            "amount",
            format!("must be more than 0 and at most {left} (what is left to refund)"),
        )]));
    }
    let to = if amount == left { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded };
    let refund_id = RefundId::new();
    let mut data = TransitionData { refund: amount, ..TransitionData::default() };
    data.event.insert("refund_id".into(), refund_id.to_string().into());
    // Conditional on the status and on refunded_total + amount <= total: two
    // concurrent refunds cannot refund more than was paid.
    if repo::transition(&mut tx, id, to, data).await?.is_none() {
        return Err(match refused(&mut tx, id, to).await {
            Error::IllegalTransition { from, .. } if from.can_become(to) => {
                Error::RefundRefused("A concurrent refund changed what is left; read the order again.".into())
            }
            other => other,
        });
    }
    tx.commit().await?;
    refund_at_provider(state, tenant, id, refund_id, current.money(amount), reason.as_deref()).await?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    order(&mut tx, id).await
}

async fn refund_at_provider(
    state: &OrdersState,
    tenant: &Tenant,
    id: OrderId,
    refund_id: RefundId,
    amount: Money,
    reason: Option<&str>,
) -> Result<(), Error> {
    let merchant = Merchant { tenant_id: tenant.id, cell: state.db.cell(&tenant.cell_id).await? };
    let provider = state.payments.for_store(tenant).await?.map_err(Error::PaymentUnavailable)?;
    let refund = Refund { order: id, id: refund_id, amount, reason };
    match provider.refund(&merchant, refund).await? {
        Ok(()) => Ok(()),
        Err(refusal) => {
            // The order says refunded but the provider did not: log loudly; a
            // refund reconciliation job is the follow-up (see ARCHITECTURE.md).
            tracing::error!(order_id = %id, %refund_id, error = %refusal, "provider refused a recorded refund");
            Err(Error::RefundRefused(refusal.to_string()))
        }
    }
}
