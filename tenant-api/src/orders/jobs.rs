//! Worker jobs of the checkout saga. Each scans every cell with a `SystemTx`
//! (by name: it is cross-tenant work) for candidates, then handles each in a
//! `TenantTx` of its store with the same conditional steps checkout uses, so a
//! job racing a live checkout changes nothing twice.
//!
//! Failures are isolated (`worker::attempts`): a candidate whose store's
//! provider errs, or whose store's rows cannot be read, is recorded against
//! that order (backoff, then `needs_attention`) and the run goes on with every
//! other order and store. The provider is asked only when the store's own
//! record of the charge says its outcome is unknown (`pending`); an order
//! never charged, or whose charge is settled, needs no provider at all, so a
//! store whose provider is down still releases its abandoned holds. A call
//! refused by the account's open circuit is not an attempt: the order stays
//! due for a later run.
//!
//! The jobs take any state their [`PaymentsState`] and [`Policy`] derive from
//! (the worker's, or the binary's in tests).

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::extract::FromRef;
use platform::db::TenantTx;

use super::{model::OrderId, repo, service};
use crate::{
    inventory::reservations,
    payments::{
        self,
        breaker::CircuitOpen,
        model::{ChargeOutcome, PaymentStatus},
        payments_for_order, Merchant, PaymentProvider, PaymentsState,
    },
    worker::{
        attempts::{self, Due, Handled, Policy},
        sweep,
    },
};

/// The reservation expiry's name in logs, metrics and `job_attempt`.
pub const EXPIRY: &str = "reservation-expiry";
/// The payment recovery's name in logs, metrics and `job_attempt`.
pub const RECOVERY: &str = "payment-recovery";

/// Finishes orders left `pending_payment` (a crash between charge and
/// bookkeeping) for longer than `grace`: from the store's record of the
/// charge, or the provider's when that record is still `pending`, marks the
/// order paid (committing stock) or failed (releasing it). Never charges.
/// Orders with no charge at all are left to the hold's expiry. Returns how
/// many orders it finished.
pub async fn recover_pending_payments<S>(state: &S, grace: Duration) -> anyhow::Result<usize>
where
    PaymentsState: FromRef<S>,
    Policy: FromRef<S>,
{
    let (policy, state) = (Policy::from_ref(state), PaymentsState::from_ref(state));
    let found = candidates(&state, RECOVERY, repo::STALE_PENDING, grace).await?;
    let finished = attempts::settle_each(RECOVERY, policy, found, |merchant, order| {
        let state = state.clone();
        async move { recover(&state, &merchant, OrderId::from_uuid(order)).await }
    })
    .await;
    if finished > 0 {
        tracing::info!(finished, "pending orders recovered");
    }
    Ok(finished)
}

/// Releases holds past their expiry. An order that was charged after all is
/// finished as paid instead; one that never was is cancelled (`expired`).
/// Returns how many orders it settled.
pub async fn expire_reservations<S>(state: &S) -> anyhow::Result<usize>
where
    PaymentsState: FromRef<S>,
    Policy: FromRef<S>,
{
    let (policy, state) = (Policy::from_ref(state), PaymentsState::from_ref(state));
    let found = candidates(&state, EXPIRY, reservations::EXPIRED_HOLDS, Duration::ZERO).await?;
    let settled = attempts::settle_each(EXPIRY, policy, found, |merchant, order| {
        let state = state.clone();
        async move { expire(&state, &merchant, OrderId::from_uuid(order)).await }
    })
    .await;
    if settled > 0 {
        tracing::info!(settled, "expired reservations settled");
    }
    Ok(settled)
}

async fn recover(state: &PaymentsState, merchant: &Merchant, order: OrderId) -> anyhow::Result<Handled> {
    match charge_of(state, merchant, order, Ask::Lookup).await? {
        Charge::Settled(outcome) => settle(merchant, order, outcome).await,
        Charge::None | Charge::Waiting => Ok(Handled::Unchanged),
        Charge::NotNow => Ok(Handled::NotNow),
    }
}

async fn expire(state: &PaymentsState, merchant: &Merchant, order: OrderId) -> anyhow::Result<Handled> {
    // Cancelled at the provider first, so no payment can land after the
    // release (an intent waiting on 3-D Secure); one that settled after all
    // is settled here instead (a late success keeps the order paid).
    match charge_of(state, merchant, order, Ask::Cancel).await? {
        Charge::Settled(outcome) => settle(merchant, order, outcome).await,
        // Still on its way at the provider (`processing`, which cannot be
        // cancelled): the hold stays until it settles.
        Charge::Waiting => Ok(Handled::Unchanged),
        // A charge whose outcome cannot be learnt now keeps its hold: it may
        // have gone through, and releasing could oversell.
        Charge::NotNow => Ok(Handled::NotNow),
        Charge::None => {
            let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
            // Checked again in the store's own transaction: the scan may be stale.
            if !reservations::hold_expired(&mut tx, order.as_uuid()).await? {
                return Ok(Handled::Unchanged);
            }
            let done = service::mark_expired(&mut tx, order).await?.is_some();
            tx.commit().await?;
            Ok(if done { Handled::Changed } else { Handled::Unchanged })
        }
    }
}

/// What a job asks the provider of a charge still `pending` in our record.
#[derive(Clone, Copy)]
enum Ask {
    /// Its outcome (recovery).
    Lookup,
    /// To cancel it unless it settled (expiry).
    Cancel,
}

/// What is known of an order's charge.
enum Charge {
    /// None was made (or it is cancelled now).
    None,
    /// Made, not final, and not cancellable (Stripe's `processing`), or
    /// waiting on the shopper (3-D Secure) when only looked up.
    Waiting,
    /// It came to this.
    Settled(ChargeOutcome),
    /// Only the provider knows, and its account's circuit is open.
    NotNow,
}

/// The order's charge: from the store's record, or from the provider when
/// the record is `pending` (its outcome unknown). `Err` when the provider
/// cannot be asked (no key, another provider than the one that charged) or
/// fails to answer.
async fn charge_of(state: &PaymentsState, merchant: &Merchant, order: OrderId, ask: Ask) -> anyhow::Result<Charge> {
    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
    let recorded = payments_for_order(&mut tx, order).await?;
    drop(tx);
    let Some(payment) = recorded.into_iter().next_back() else { return Ok(Charge::None) };
    match payment.status {
        PaymentStatus::Succeeded => Ok(Charge::Settled(ChargeOutcome::Succeeded { payment_id: payment.id })),
        PaymentStatus::Failed => Ok(Charge::Settled(ChargeOutcome::Declined {
            code: payment.failure_code.unwrap_or_else(|| "declined".into()),
        })),
        PaymentStatus::Pending | PaymentStatus::RequiresAction => {
            let provider = provider_of(state, merchant).await?;
            anyhow::ensure!(
                provider.kind() == payment.provider,
                "the charge was made through {}, but the store now uses {}",
                payment.provider.as_str(),
                provider.kind().as_str()
            );
            let answer = match ask {
                Ask::Lookup => provider.lookup(merchant, order).await,
                Ask::Cancel => provider.cancel(merchant, order).await,
            };
            match answer {
                Ok(Some(ChargeOutcome::RequiresAction { .. } | ChargeOutcome::Processing)) => Ok(Charge::Waiting),
                Ok(Some(outcome)) => {
                    // A provider that keeps its own books: its answer settles our row.
                    if !provider.records_payments() {
                        let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
                        payments::repo::record_outcome(&mut tx, order, payment.provider, payment.amount, &outcome)
                            .await?;
                        tx.commit().await?;
                    }
                    Ok(Charge::Settled(outcome))
                }
                Ok(None) => Ok(Charge::None),
                Err(e) if CircuitOpen::of(&e).is_some() => Ok(Charge::NotNow),
                Err(e) => Err(e.context(format!("asking {} for the charge", payment.provider.as_str()))),
            }
        }
    }
}

/// What `source` finds in every cell ([`attempts::due`]), each subject with
/// its store as a merchant on that cell, ready for [`attempts::settle_each`].
/// A cell that cannot be scanned is logged and left for the next run; the
/// others are not held up. Shared with other jobs that settle per store.
pub(crate) async fn candidates(
    state: &PaymentsState,
    job: &'static str,
    source: &str,
    age: Duration,
) -> anyhow::Result<Vec<(Merchant, Due)>> {
    let mut found = Vec::new();
    for cell in sweep::cells(&state.db).await? {
        let scanned = async {
            let pool = state.db.cell(&cell).await?;
            let mut tx = state.db.system_tx(&cell).await?;
            let due = attempts::due(&mut tx, job, source, age).await?;
            tx.commit().await?;
            anyhow::Ok((pool, due))
        };
        match scanned.await {
            Ok((pool, due)) => found
                .extend(due.into_iter().map(|due| (Merchant { tenant_id: due.tenant_id, cell: pool.clone() }, due))),
            Err(e) => {
                tracing::error!(job, cell, error = %format!("{e:#}"), "cannot scan a cell");
                metrics::counter!("worker_cell_scan_failures_total", "job" => job).increment(1);
            }
        }
    }
    Ok(found)
}

/// The store's provider; `Err` saying why when it cannot be used.
async fn provider_of(state: &PaymentsState, merchant: &Merchant) -> anyhow::Result<Arc<dyn PaymentProvider>> {
    state
        .for_tenant(merchant.tenant_id)
        .await
        .context("reading the store's payment settings")?
        .map_err(|why| anyhow::anyhow!("cannot ask the store's payment provider: {why}"))
}

async fn settle(merchant: &Merchant, order: OrderId, outcome: ChargeOutcome) -> anyhow::Result<Handled> {
    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
    let done = service::settle(&mut tx, order, outcome).await?;
    tx.commit().await?;
    Ok(if done { Handled::Changed } else { Handled::Unchanged })
}
