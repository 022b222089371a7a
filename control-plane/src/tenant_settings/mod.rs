//! A store's payment and notification settings.
//!
//! **Invariant:** a secret (Stripe keys, SMTP password, SMS auth token) is sealed
//! with the master key before it reaches the database, and only its last four
//! characters ever leave the control plane: not in responses, not in the audit
//! log, not in logs. The data plane opens them with `platform::settings`.
//!
//! `PUT` merges: a field left out keeps its stored value (so a merchant can
//! change one setting without re-sending every secret), `null` clears it.

pub mod error;
pub mod model;
mod repo;
mod routes;
pub mod service;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::{auth::KeyRing, config::PlatformEnv, crypto::MasterKeys, db::Db};

use crate::tenants::store::Announcer;

pub(crate) use routes::openapi::doc;
pub use routes::router;

/// What the settings handlers need.
#[derive(Clone, FromRef)]
pub struct TenantSettingsState {
    pub db: Db,
    pub announcer: Announcer,
    /// Seals secrets before they are stored.
    pub master: Arc<MasterKeys>,
    /// Verifies the bearer tokens of its routes.
    pub keys: KeyRing,
    /// What merchants are told of their payment settings depends on it.
    #[from_ref(skip)]
    pub platform_env: PlatformEnv,
}
