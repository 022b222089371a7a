//! Payments: the provider a store charges through, behind one trait.
//!
//! `PaymentProvider` is a trait (as `Arc<dyn PaymentProvider>`) because it has
//! two real implementations: the built-in test provider here and Stripe (later).
//! Every charge is keyed by the order id, so retrying a charge — from a
//! retried checkout or from the worker's recovery — never charges twice.

pub mod model;
pub mod provider;
mod repo;
pub mod test_provider;

pub use provider::{Merchant, PaymentProvider};
pub use repo::payments_for_order;

use std::sync::Arc;

use platform::{settings::PaymentProvider as Configured, tenancy::Tenant};

use crate::startup::AppState;

/// The provider a store charges through, from its payment settings (the
/// control plane's; the test provider when it has none). `Err` names a
/// provider this service cannot charge through yet: a store set to Stripe is
/// never charged through the test provider instead.
pub async fn for_store(state: &AppState, tenant: &Tenant) -> anyhow::Result<Result<Arc<dyn PaymentProvider>, String>> {
    let settings = platform::settings::payment_settings(state.db.control(), &state.master, tenant.id).await?;
    Ok(match settings.provider {
        Configured::Test => Ok(state.payments.clone()),
        other => Err(other.as_str().to_owned()),
    })
}
