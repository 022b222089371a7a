//! Worker jobs of the checkout saga. Each scans every cell with a `SystemTx`
//! (by name: it is cross-tenant work) for candidates, then handles each in a
//! `TenantTx` of its store with the same conditional steps checkout uses, so a
//! job racing a live checkout changes nothing twice.
//!
//! The jobs take any state their [`PaymentsState`] derives from (the worker's,
//! or the binary's in tests): the registry, the cells and the providers are
//! all they use.

use std::{sync::Arc, time::Duration};

use axum::extract::FromRef;
use platform::{db::TenantTx, ids::TenantId};

use super::{model::OrderId, repo, service};
use crate::{
    inventory::reservations,
    payments::{model::ChargeOutcome, Merchant, PaymentProvider, PaymentsState},
    worker::sweep,
};

/// How many candidates one run takes per cell.
const BATCH: i64 = 100;

/// Finishes orders left `pending_payment` (a crash between charge and
/// bookkeeping) for longer than `grace`: looks the charge up by order id and
/// marks the order paid (committing stock) or failed (releasing it). Never
/// charges. Orders with no charge at all are left to the hold's expiry.
/// Returns how many orders it finished.
pub async fn recover_pending_payments<S>(state: &S, grace: Duration) -> anyhow::Result<usize>
where
    PaymentsState: FromRef<S>,
{
    let state = PaymentsState::from_ref(state);
    let mut finished = 0;
    for (merchant, order) in candidates(&state, Scan::StalePending(grace)).await? {
        let Some(provider) = provider_of(&state, &merchant).await? else { continue };
        let Some(outcome) = provider.lookup(&merchant, order).await? else { continue };
        if settle(&merchant, order, outcome).await? {
            finished += 1;
        }
    }
    if finished > 0 {
        tracing::info!(finished, "pending orders recovered");
    }
    Ok(finished)
}

/// Releases holds past their expiry. The order's charge is cancelled at the
/// provider first; an order that was charged after all is finished as paid
/// instead; one that never was is cancelled (`expired`).
/// Returns how many orders it settled.
pub async fn expire_reservations<S>(state: &S) -> anyhow::Result<usize>
where
    PaymentsState: FromRef<S>,
{
    let state = PaymentsState::from_ref(state);
    let mut settled = 0;
    for (merchant, order) in candidates(&state, Scan::ExpiredHolds).await? {
        // A store whose provider cannot be asked keeps its hold: the
        // charge may have happened, and releasing could oversell.
        let Some(provider) = provider_of(&state, &merchant).await? else { continue };
        // Cancelled at the provider first, so no payment can land after the
        // release (an intent waiting on 3-D Secure); one that settled after
        // all is settled here instead (a late success keeps the order paid).
        let done = match provider.cancel(&merchant, order).await? {
            Some(outcome) => settle(&merchant, order, outcome).await?,
            None => {
                let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
                // Checked again in the store's own transaction: the scan may be stale.
                if !reservations::hold_expired(&mut tx, order.as_uuid()).await? {
                    continue;
                }
                let done = service::mark_expired(&mut tx, order).await?.is_some();
                tx.commit().await?;
                done
            }
        };
        if done {
            settled += 1;
        }
    }
    if settled > 0 {
        tracing::info!(settled, "expired reservations settled");
    }
    Ok(settled)
}

/// What a job looks for in every cell.
#[derive(Clone, Copy)]
enum Scan {
    /// Orders awaiting payment for longer than this.
    StalePending(Duration),
    /// Holds past their expiry.
    ExpiredHolds,
}

/// What `scan` finds in every cell (a `SystemTx` each, by name: it reads
/// across stores), each order with its store as a merchant on that cell.
async fn candidates(state: &PaymentsState, scan: Scan) -> anyhow::Result<Vec<(Merchant, OrderId)>> {
    let mut found = Vec::new();
    for cell in sweep::cells(&state.db).await? {
        let pool = state.db.cell(&cell).await?;
        let mut tx = state.db.system_tx(&cell).await?;
        let orders = match scan {
            Scan::StalePending(grace) => repo::stale_pending(&mut tx, grace, BATCH).await?,
            Scan::ExpiredHolds => reservations::expired_holds(&mut tx, BATCH)
                .await?
                .into_iter()
                .map(|(tenant, order)| (TenantId::from_uuid(tenant), OrderId::from_uuid(order)))
                .collect(),
        };
        drop(tx);
        found.extend(orders.into_iter().map(|(tenant_id, order)| (Merchant { tenant_id, cell: pool.clone() }, order)));
    }
    Ok(found)
}

/// The store's provider; `None` (logged) when it cannot be used.
async fn provider_of(state: &PaymentsState, merchant: &Merchant) -> anyhow::Result<Option<Arc<dyn PaymentProvider>>> {
    match state.for_tenant(merchant.tenant_id).await? {
        Ok(provider) => Ok(Some(provider)),
        Err(why) => {
            tracing::warn!(tenant_id = %merchant.tenant_id, provider = why, "cannot ask the store's payment provider");
            Ok(None)
        }
    }
}

async fn settle(merchant: &Merchant, order: OrderId, outcome: ChargeOutcome) -> anyhow::Result<bool> {
    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
    let done = service::settle(&mut tx, order, outcome).await?;
    tx.commit().await?;
    Ok(done)
}
