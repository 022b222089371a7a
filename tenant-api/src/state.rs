//! The one state the binary builds (in `startup`) and every context takes its
//! own part of, through `FromRef`. Its own module so that `contexts` can name it
//! without reaching into `startup`.

use std::sync::Arc;

use platform::{
    auth::{Authenticator, Signer},
    config::Settings,
    crypto::MasterKeys,
    db::Db,
    edge::{EdgeLimit, HostLimit},
    media::MediaStore,
    quotas::QuotaCache,
    rate_limit::RateLimits,
    tenancy::TenantResolver,
};

use crate::{
    catalog::{cache::StorefrontCache, CatalogState},
    payments::{breaker::Breakers, PaymentProvider},
    settings::CommerceSettings,
};

/// What every handler can reach. Cloned for every request (axum's `State`), so
/// it is one `Arc`: a clone is one atomic increment, not one per field (the
/// per-field clones showed up at 5 % of a warm storefront read's profile).
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Parts>);

impl std::ops::Deref for AppState {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Parts {
    /// Control database and cell pools.
    pub db: Db,
    /// Redis (carts, idempotency, rate limits).
    pub redis: redis::aio::ConnectionManager,
    /// Host → store resolution.
    pub resolver: TenantResolver,
    /// Staff tokens and API keys.
    pub auth: Authenticator,
    /// Plan quotas per store (rate limits, product counts).
    pub quotas: QuotaCache,
    /// Request rate limiters per store (mounted unless `RATE_LIMITS=off`).
    pub rate_limits: RateLimits,
    /// Requests per client address, before anything else (`None`: off).
    pub edge: Option<EdgeLimit>,
    /// The per-`Host` edge limit (`EDGE_HOST_REQUESTS_PER_SECOND`); `None` when off.
    pub edge_host: Option<HostLimit>,
    pub settings: Arc<Settings>,
    /// Cached storefront responses, dropped on catalog writes in every replica.
    pub storefront_cache: StorefrontCache,
    /// Where product media is stored.
    pub media: MediaStore,
    /// Token, cart and reservation lifetimes, worker intervals.
    pub commerce: Arc<CommerceSettings>,
    /// Signs shopper tokens (the platform's key, storefront audience).
    pub signer: Signer,
    /// Seals secrets written to the outbox (password reset tokens).
    pub master: Arc<MasterKeys>,
    /// The one bound on concurrent argon2 work of shoppers' passwords.
    pub hasher: platform::password::Hasher,
    /// The built-in test provider; `payments::for_store` picks it or Stripe
    /// per store from the store's payment settings.
    pub payments: Arc<dyn PaymentProvider>,
    /// The circuit of every store's provider account, shared by every request
    /// and job of this process.
    pub breakers: Breakers,
    /// Each store's payment settings, read on every checkout.
    pub payment_settings: platform::settings::PaymentSettingsCache,
    /// The catalog's part, built once so that a request clones one `Arc`.
    pub catalog: CatalogState,
    /// Email and SMS senders (relay, cached store transports, HTTP client).
    pub senders: crate::notifications::Senders,
    /// Stores and their notification settings as messages need them, dropped on announcements.
    pub message_stores: crate::notifications::messages::service::Stores,
    /// The dashboard's control plane client, templates and upload client.
    pub dashboard: crate::dashboard::DashboardParts,
    /// Signs the pages' CSRF tokens and order links (derived from the master key).
    pub page_key: platform::web::PageKey,
    /// Stores' names and themes for the pages, dropped on announcements.
    pub store_fronts: crate::web::store::StoreFronts,
}
