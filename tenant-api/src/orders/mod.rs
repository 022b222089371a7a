//! Orders: the checkout saga, the order state machine, shopper history and
//! staff operations (fulfil, deliver, cancel, refund), and the worker jobs
//! that recover checkouts interrupted between steps.

mod error;
pub mod idempotency;
pub mod jobs;
pub mod model;
mod repo;
mod routes;
pub mod saga;
pub mod service;

pub use error::Error;
pub(crate) use routes::doc;
pub use routes::router;
