//! Tenants: the registry of stores, onboarding, lifecycle (suspend, resume,
//! delete, purge), plans; and [`store`], how the other contexts change a live
//! store.

mod idempotency;
pub mod model;
mod repo;
mod routes;
pub mod service;
pub mod store;

pub(crate) use routes::openapi::doc;
pub use routes::router;
pub use service::TenantsState;
