//! Tenants: the registry of stores, onboarding, lifecycle (suspend, resume,
//! delete, purge), plans.

mod idempotency;
pub mod model;
mod repo;
mod routes;
pub mod service;

pub use routes::router;
