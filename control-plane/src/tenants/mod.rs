//! Tenants: the registry of stores, onboarding, lifecycle (suspend, resume,
//! delete, purge), plans.

mod idempotency;
pub mod model;
mod repo;
mod routes;
pub mod service;

pub(crate) use routes::doc;
pub use routes::router;
