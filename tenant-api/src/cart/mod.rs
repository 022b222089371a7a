//! Carts: in Redis, never in PostgreSQL. A guest cart's id is an unguessable
//! capability; a customer's cart also needs the customer's token. Prices and
//! stock are re-read from the catalog and inventory on every read (a client
//! never supplies a price), and every use renews the cart's TTL.
//!
//! **Invariant:** a cart key is `t:{<tenant id>}:cart:<id>` (hash-tagged by
//! tenant), so no request of one store can name another store's cart.

mod error;
pub mod model;
mod routes;
pub mod service;
mod store;

pub use error::Error;
pub(crate) use routes::doc;
pub use routes::router;

use axum::extract::FromRef;
use platform::{auth::Authenticator, db::Db};

/// What carts need: Redis for the carts, the store's database for prices,
/// stock and shipping, how long carts live, and the shopper tokens' verifier.
#[derive(Clone, FromRef)]
pub struct CartState {
    pub db: Db,
    pub redis: redis::aio::ConnectionManager,
    #[from_ref(skip)]
    pub ttls: model::Ttls,
    pub auth: Authenticator,
}
