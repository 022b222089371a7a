//! Inventory: stock levels per variant (`on_hand`, `reserved`). Checkout will
//! reserve and commit against `inventory_level`; `reserved <= on_hand` is a
//! database constraint, so no code path can oversell.

mod error;
pub mod model;
mod repo;
mod routes;
pub mod service;

pub use error::Error;
pub use routes::router;
