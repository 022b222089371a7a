//! Inventory: stock levels per variant (`on_hand`, `reserved`) and the
//! reservations checkout holds against them. `reserved <= on_hand` is a
//! database constraint and every stock change is one conditional update, so no
//! code path can oversell.

mod error;
pub mod model;
mod repo;
pub mod reservations;
mod routes;
pub mod service;

pub use error::Error;
pub(crate) use routes::doc;
pub use routes::router;

/// What inventory's handlers need: the database, and the staff credentials'
/// verifier.
#[derive(Clone, axum::extract::FromRef)]
pub struct InventoryState {
    pub db: platform::db::Db,
    pub auth: platform::auth::Authenticator,
}
