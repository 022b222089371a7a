//! Customers: a store's shoppers. Accounts with argon2id passwords, shopper
//! tokens bound to the store (audience `commerce-storefront`), refresh tokens
//! with rotation, profiles and addresses, password reset through the outbox.

mod error;
pub mod model;
mod repo;
mod routes;
pub mod service;

pub use error::Error;
pub(crate) use routes::doc;
pub use routes::router;
