//! Payments: the provider a store charges through, behind one trait.
//!
//! `PaymentProvider` is a trait (as `Arc<dyn PaymentProvider>`) because it has
//! two real implementations: the built-in test provider and Stripe, chosen per
//! store from its payment settings. Every charge is keyed by the order id, so
//! retrying a charge — from a retried checkout or from the worker's recovery —
//! never charges twice. Stripe's webhooks (`routes.rs`, `service.rs`) settle
//! charges whose answer the saga never got. Calls to an external provider go
//! through a circuit breaker per store account (`breaker.rs`).

pub mod breaker;
mod error;
pub mod model;
pub mod provider;
pub(crate) mod repo;
mod routes;
pub mod service;
pub mod stripe;
pub mod test_provider;
pub mod webhook;

pub use error::Error;
pub use platform::settings::PaymentProvider as ProviderKind;
pub use provider::{Merchant, PaymentProvider};
pub use repo::payments_for_order;
pub(crate) use routes::doc;
pub use routes::router;

use std::{sync::Arc, time::Duration};

use platform::{
    config::{PlatformEnv, Settings},
    crypto::MasterKeys,
    db::Db,
    ids::TenantId,
    settings::{PaymentSettings, PaymentSettingsCache},
    tenancy::Tenant,
};

/// What payments need: the registry (a store's payment settings, opened with
/// the master keys), the built-in provider, and the platform's settings
/// (where Stripe answers, how long a call may take).
#[derive(Clone)]
pub struct PaymentsState {
    /// Control database and cell pools.
    pub db: Db,
    /// Open the sealed secrets of a store's payment settings.
    pub master: Arc<MasterKeys>,
    /// The built-in test provider, for stores set to `test`.
    pub test_provider: Arc<dyn PaymentProvider>,
    /// The platform's settings, for `stripe_api_base` and `stripe_timeout_secs`
    /// (shared, not copied per request).
    pub settings: Arc<Settings>,
    /// The circuit of every store's provider account (this process's).
    pub breakers: breaker::Breakers,
    /// Each store's payment settings, secrets opened (cached; see
    /// [`PaymentSettingsCache`]).
    pub payment_settings: PaymentSettingsCache,
}

impl PaymentsState {
    /// The provider a store charges through, from its payment settings (the
    /// control plane's; the test provider when it has none). `Err` says why the
    /// store cannot be charged (Stripe without a secret key, or the test
    /// provider under `PLATFORM_ENV=production`): a store set to Stripe is
    /// never charged through the test provider instead. An external provider
    /// comes wrapped in the account's circuit breaker.
    pub async fn for_store(&self, tenant: &Tenant) -> anyhow::Result<Result<Arc<dyn PaymentProvider>, String>> {
        self.for_tenant(tenant.id).await
    }

    /// [`Self::for_store`] by id (the worker's jobs know stores by id only).
    pub async fn for_tenant(&self, tenant: TenantId) -> anyhow::Result<Result<Arc<dyn PaymentProvider>, String>> {
        let settings = self.payment_settings.get(tenant).await?;
        // Real shoppers are never "charged" through the test provider.
        if settings.provider == ProviderKind::Test && self.settings.platform_env == PlatformEnv::Production {
            return Ok(Err("the built-in test provider, which is refused in production (configure Stripe)".to_owned()));
        }
        self.provider(tenant, settings.provider, &settings)
    }

    /// The provider `kind` of a store, whatever it charges through today: a
    /// refund goes back through the provider that took the payment (a store
    /// that moved from Stripe to test still refunds its Stripe charges at
    /// Stripe). `Err` says why it cannot be reached (Stripe without a key).
    pub async fn provider_of(
        &self,
        tenant: TenantId,
        kind: ProviderKind,
    ) -> anyhow::Result<Result<Arc<dyn PaymentProvider>, String>> {
        if kind == ProviderKind::Test {
            return Ok(Ok(self.test_provider.clone()));
        }
        let settings = self.payment_settings.get(tenant).await?;
        self.provider(tenant, kind, &settings)
    }

    fn provider(
        &self,
        tenant: TenantId,
        kind: ProviderKind,
        settings: &PaymentSettings,
    ) -> anyhow::Result<Result<Arc<dyn PaymentProvider>, String>> {
        Ok(match (kind, &settings.stripe_secret_key) {
            (ProviderKind::Test, _) => Ok(self.test_provider.clone()),
            (ProviderKind::Stripe, Some(key)) => Ok(self.breakers.guard(
                tenant,
                Arc::new(stripe::StripeProvider::new(
                    &self.settings.stripe_api_base,
                    key,
                    settings.stripe_account_id.clone(),
                    Duration::from_secs(self.settings.stripe_timeout_secs),
                )?),
            )),
            (ProviderKind::Stripe, None) => Err("stripe (no secret key is set)".to_owned()),
        })
    }
}
