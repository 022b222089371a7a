//! Payments: the provider a store charges through, behind one trait.
//!
//! `PaymentProvider` is a trait (as `Arc<dyn PaymentProvider>`) because it has
//! two real implementations: the built-in test provider and Stripe, chosen per
//! store from its payment settings. Every charge is keyed by the order id, so
//! retrying a charge — from a retried checkout or from the worker's recovery —
//! never charges twice. Stripe's webhooks (`routes.rs`, `service.rs`) settle
//! charges whose answer the saga never got.

mod error;
pub mod model;
pub mod provider;
mod repo;
mod routes;
pub mod service;
pub mod stripe;
pub mod test_provider;
pub mod webhook;

pub use error::Error;
pub use provider::{Merchant, PaymentProvider};
pub use repo::payments_for_order;
pub(crate) use routes::doc;
pub use routes::router;

use std::sync::Arc;

use platform::{ids::TenantId, settings::PaymentProvider as Configured, tenancy::Tenant};

use crate::startup::AppState;

/// The provider a store charges through, from its payment settings (the
/// control plane's; the test provider when it has none). `Err` says why the
/// store cannot be charged (Stripe without a secret key): a store set to
/// Stripe is never charged through the test provider instead.
pub async fn for_store(state: &AppState, tenant: &Tenant) -> anyhow::Result<Result<Arc<dyn PaymentProvider>, String>> {
    for_tenant(state, tenant.id).await
}

/// [`for_store`] by id (the worker's jobs know stores by id only).
pub async fn for_tenant(
    state: &AppState,
    tenant: TenantId,
) -> anyhow::Result<Result<Arc<dyn PaymentProvider>, String>> {
    let settings = platform::settings::payment_settings(state.db.control(), &state.master, tenant).await?;
    Ok(match (settings.provider, settings.stripe_secret_key) {
        (Configured::Test, _) => Ok(state.payments.clone()),
        (Configured::Stripe, Some(key)) => Ok(Arc::new(stripe::StripeProvider::new(
            state.stripe_http.clone(),
            &state.settings.stripe_api_base,
            key,
            settings.stripe_account_id,
        ))),
        (Configured::Stripe, None) => Err("stripe (no secret key is set)".to_owned()),
    })
}
