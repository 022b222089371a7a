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

use std::sync::Arc;

use axum::extract::FromRef;
use platform::{
    auth::{Authenticator, Signer},
    crypto::MasterKeys,
    db::Db,
};

use crate::cart::CartState;

/// What shopper accounts need. Signing in adopts the shopper's guest cart,
/// so the cart's state is part of it.
#[derive(Clone, FromRef)]
pub struct CustomersState {
    pub db: Db,
    /// Signs shopper tokens (the platform's key, storefront audience).
    pub signer: Signer,
    /// Seals the reset tokens written to the outbox.
    pub master: Arc<MasterKeys>,
    #[from_ref(skip)]
    pub tokens: TokenTtls,
    pub cart: CartState,
    /// Verifies shopper tokens and staff credentials.
    pub auth: Authenticator,
    /// Bounds concurrent argon2 work (`503` past it, never unbounded memory).
    pub hasher: platform::password::Hasher,
}

/// Lifetimes of shopper tokens, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct TokenTtls {
    pub access: u64,
    pub refresh: u64,
}
