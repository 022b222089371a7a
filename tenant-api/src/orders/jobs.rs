//! Worker jobs of the checkout saga. Each scans every cell with a `SystemTx`
//! (by name: it is cross-tenant work) for candidates, then handles each in a
//! `TenantTx` of its store with the same conditional steps checkout uses, so a
//! job racing a live checkout changes nothing twice.

use std::{sync::Arc, time::Duration};

use platform::db::TenantTx;
use uuid::Uuid;

use super::{model::OrderId, repo, service};
use crate::{
    inventory::reservations,
    payments::{self, model::ChargeOutcome, Merchant, PaymentProvider},
    startup::AppState,
};

/// How many candidates one run takes per cell.
const BATCH: i64 = 100;

/// Finishes orders left `pending_payment` (a crash between charge and
/// bookkeeping) for longer than `grace`: looks the charge up by order id and
/// marks the order paid (committing stock) or failed (releasing it). Never
/// charges. Orders with no charge at all are left to the hold's expiry.
/// Returns how many orders it finished.
pub async fn recover_pending_payments(state: &AppState, grace: Duration) -> anyhow::Result<usize> {
    let mut finished = 0;
    for cell in crate::worker::cells(state).await? {
        let pool = state.db.cell(&cell).await?;
        let mut scan = state.db.system_tx(&cell).await?;
        let candidates = repo::stale_pending(&mut scan, grace, BATCH).await?;
        drop(scan);
        for (tenant, order) in candidates {
            let merchant = Merchant { tenant_id: platform::ids::TenantId::from_uuid(tenant), cell: pool.clone() };
            let Some(provider) = provider_of(state, &merchant).await? else { continue };
            let Some(outcome) = provider.lookup(&merchant, order).await? else { continue };
            if settle(&merchant, order, outcome).await? {
                finished += 1;
            }
        }
    }
    if finished > 0 {
        tracing::info!(finished, "pending orders recovered");
    }
    Ok(finished)
}

/// Releases holds past their expiry. An order that was charged after all is
/// finished as paid instead; one that never was is cancelled (`expired`).
/// Returns how many orders it settled.
pub async fn expire_reservations(state: &AppState) -> anyhow::Result<usize> {
    let mut settled = 0;
    for cell in crate::worker::cells(state).await? {
        let pool = state.db.cell(&cell).await?;
        let mut scan = state.db.system_tx(&cell).await?;
        let candidates = reservations::expired_holds(&mut scan, BATCH).await?;
        drop(scan);
        for (tenant, order) in candidates {
            let merchant = Merchant { tenant_id: platform::ids::TenantId::from_uuid(tenant), cell: pool.clone() };
            // A store whose provider cannot be asked keeps its hold: the
            // charge may have happened, and releasing could oversell.
            let Some(provider) = provider_of(state, &merchant).await? else { continue };
            let done = match provider.lookup(&merchant, order).await? {
                Some(outcome) => settle(&merchant, order, outcome).await?,
                None => {
                    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
                    // Checked again in the store's own transaction: the scan may be stale.
                    if !reservations::hold_expired(&mut tx, order).await? {
                        continue;
                    }
                    let done = service::mark_expired(&mut tx, OrderId::from_uuid(order)).await?.is_some();
                    tx.commit().await?;
                    done
                }
            };
            if done {
                settled += 1;
            }
        }
    }
    if settled > 0 {
        tracing::info!(settled, "expired reservations settled");
    }
    Ok(settled)
}

/// The store's provider; `None` (logged) when it cannot be used.
async fn provider_of(state: &AppState, merchant: &Merchant) -> anyhow::Result<Option<Arc<dyn PaymentProvider>>> {
    match payments::for_tenant(state, merchant.tenant_id).await? {
        Ok(provider) => Ok(Some(provider)),
        Err(why) => {
            tracing::warn!(tenant_id = %merchant.tenant_id, provider = why, "cannot ask the store's payment provider");
            Ok(None)
        }
    }
}

async fn settle(merchant: &Merchant, order: Uuid, outcome: ChargeOutcome) -> anyhow::Result<bool> {
    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
    let id = OrderId::from_uuid(order);
    let done = match outcome {
        ChargeOutcome::Succeeded { .. } => service::mark_paid(&mut tx, id).await?.is_some(),
        ChargeOutcome::Declined { code } => service::mark_failed(&mut tx, id, &code).await?.is_some(),
    };
    tx.commit().await?;
    Ok(done)
}
