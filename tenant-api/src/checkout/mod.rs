//! Checkout options: what a store adds to or takes off its prices. Shipping
//! methods (flat rate, free over a threshold), tax rates per country and region
//! (inclusive or exclusive), discount codes (percentage or fixed, minimum
//! subtotal, expiry, usage limits redeemed atomically), and the one function
//! that turns them into totals. The checkout saga itself is in `orders`.

mod error;
pub mod model;
mod repo;
mod routes;
pub mod service;

pub use error::Error;
pub(crate) use routes::doc;
pub use routes::router;

/// What checkout options need: the store's database, and the staff
/// credentials' verifier.
#[derive(Clone, axum::extract::FromRef)]
pub struct CheckoutState {
    pub db: platform::db::Db,
    pub auth: platform::auth::Authenticator,
}
