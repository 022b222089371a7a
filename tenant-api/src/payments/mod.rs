//! Payments: the provider a store charges through, behind one trait.
//!
//! `PaymentProvider` is a trait (as `Arc<dyn PaymentProvider>`) because it has
//! two real implementations: the built-in test provider here and Stripe (later).
//! Every charge is keyed by the order id, so retrying a charge — from a
//! retried checkout or from the worker's recovery — never charges twice.

pub mod model;
pub mod provider;
mod repo;
pub mod test_provider;

pub use provider::{Merchant, PaymentProvider};
pub use repo::payments_for_order;
