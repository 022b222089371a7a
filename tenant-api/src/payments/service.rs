//! Stripe webhooks: verified with the store's secret, recorded once per event
//! id, and applied to the store's own orders only.
//!
//! **Invariant:** an event reaches an order only through this store's
//! `payment` row of the event's intent, looked up in the store's `TenantTx`:
//! the order id in the intent's metadata is never trusted, so an event sent
//! to store A can neither find nor change an order of store B.

use platform::tenancy::Tenant;
use secrecy::ExposeSecret;

use super::{
    model::{ChargeOutcome, EventHandling, StripeEvent},
    repo, webhook, Error, PaymentsState,
};
use crate::orders;

/// Checks `Stripe-Signature` against the store's webhook secret; a store
/// without one accepts nothing.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
pub async fn verify_stripe_signature(
    state: &PaymentsState,
    tenant: &Tenant,
    header: Option<&str>,
    payload: &[u8],
) -> Result<(), Error> {
    let settings = state.payment_settings.get(tenant.id).await?;
    let (Some(secret), Some(header)) = (settings.stripe_webhook_secret.as_ref(), header) else {
        return Err(Error::BadSignature);
    };
    let now = chrono::Utc::now().timestamp();
    if webhook::verify(secret.expose_secret().as_bytes(), header, payload, now) {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

/// Applies a verified event once: its id is recorded in the same transaction
/// as the change it makes, so a second delivery finds it and does nothing.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id, event_id = %event.id, event_type = %event.kind))]
pub async fn handle_stripe_event(
    state: &PaymentsState,
    tenant: &Tenant,
    event: StripeEvent,
) -> Result<EventHandling, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    if !repo::record_stripe_event(&mut tx, &event).await? {
        return Ok(EventHandling::Duplicate);
    }
    let settled = match event.kind.as_str() {
        "payment_intent.succeeded" => Some(ChargeOutcome::succeeded_unrecorded()),
        "payment_intent.payment_failed" => {
            Some(ChargeOutcome::Declined { code: event.failure_code.clone().unwrap_or_else(|| "declined".into()) })
        }
        // Refunds are recorded when we make them; the event only confirms one.
        "charge.refunded" => {
            tracing::info!(payment_intent = ?event.payment_intent, "Stripe confirmed a refund");
            None
        }
        _ => None,
    };
    if let (Some(outcome), Some(intent)) = (settled, event.object_id.as_deref()) {
        match repo::order_of_intent(&mut tx, intent).await? {
            Some(order) => {
                let standing = repo::settle_stripe_charge(&mut tx, order, &outcome).await?;
                // Conditional transitions: an order the saga or the worker settled already stays as it is.
                let succeeded = matches!(standing, ChargeOutcome::Succeeded { .. });
                let changed = orders::service::settle(&mut tx, order, standing).await?;
                // A success on an order that stopped waiting (its hold expired,
                // staff cancelled it): the money is given back, never kept. The
                // refund is recorded here and the worker asks Stripe for it.
                if succeeded && !changed {
                    if let Some(refund) = orders::refunds::give_back(&mut tx, order).await? {
                        tracing::warn!(order_id = %order, refund_id = %refund.id, "late charge: giving it back");
                    }
                }
                tracing::info!(order_id = %order, changed, "Stripe event applied");
            }
            None => tracing::warn!(payment_intent = intent, "Stripe event for an intent this store never created"),
        }
    }
    tx.commit().await?;
    Ok(EventHandling::Processed)
}
