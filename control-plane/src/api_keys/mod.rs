//! API keys of a store, for its integrations on the data plane (`x-api-key`).
//!
//! A key is 256 random bits, shown once at creation and stored as SHA-256
//! (`platform::auth::new_api_key`); it is limited to scopes from a fixed list.
//! Revoking one is announced as a change of its store, so every data-plane
//! replica drops its cached keys of the store at once.

pub mod model;
mod repo;
mod routes;
pub mod service;

pub(crate) use routes::openapi::doc;
pub use routes::router;
pub use service::ApiKeysState;
