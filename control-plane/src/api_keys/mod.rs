//! API keys of a store, for its integrations on the data plane (`x-api-key`).
//!
//! A key is 256 random bits, shown once at creation and stored as SHA-256
//! (`platform::auth::new_api_key`); it is limited to scopes from a fixed list.
//! Revoking one is announced as a change of its store, so every data-plane
//! replica drops its cached keys of the store at once.

pub mod error;
pub mod model;
mod repo;
mod routes;
pub mod service;

use axum::extract::FromRef;
use platform::{auth::KeyRing, db::Db};

use crate::tenants::store::Announcer;

pub(crate) use routes::openapi::doc;
pub use routes::router;

/// What the API-key handlers need.
#[derive(Clone, FromRef)]
pub struct ApiKeysState {
    pub db: Db,
    pub announcer: Announcer,
    /// Verifies the bearer tokens of its routes.
    pub keys: KeyRing,
}
