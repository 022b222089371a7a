//! Orders: the checkout saga, the order state machine, shopper history and
//! staff operations (fulfil, deliver, cancel, refund), and the worker jobs
//! that recover checkouts interrupted between steps.

mod error;
pub mod idempotency;
pub mod jobs;
pub mod model;
pub mod refunds;
mod repo;
mod routes;
pub mod saga;
pub mod service;

pub use error::Error;
pub use routes::router;
pub(crate) use routes::{checkout_once, doc};

use axum::extract::FromRef;
use platform::{auth::Authenticator, db::Db};

use crate::{cart::CartState, payments::PaymentsState};

/// What checkout and order handling need. The saga reads the cart and charges
/// through the store's provider, so the cart's and payments' states are part
/// of it.
#[derive(Clone, FromRef)]
pub struct OrdersState {
    pub db: Db,
    /// `Idempotency-Key` records.
    pub redis: redis::aio::ConnectionManager,
    pub cart: CartState,
    pub payments: PaymentsState,
    /// How long checkout holds stock for an order awaiting payment.
    #[from_ref(skip)]
    pub reservation_ttl_secs: u64,
    /// How long an in-flight `Idempotency-Key` blocks a retry from taking over.
    #[from_ref(skip)]
    pub idempotency_lease_secs: u64,
    /// Verifies shopper tokens and staff credentials.
    pub auth: Authenticator,
}
