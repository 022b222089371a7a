//! Storefront pages: server-rendered HTML on every store's host (`/`,
//! `/products/{handle}`, `/search`, `/cart`, `/checkout`, `/orders/{id}`,
//! account pages), usable without JavaScript.
//!
//! Pages hold no rules of their own: they call the same services as the JSON
//! API (catalog reads, the cart, the idempotent checkout, customers, orders)
//! in the same tenant-scoped transactions. What is theirs: forms (parsed at
//! the edge, CSRF-checked with `platform::web` before anything is read or
//! written), cookies (the cart id, the shopper's session), rendering
//! (`render.rs`, minijinja templates compiled in from
//! `tenant-api/templates/web/`) and the store's name and theme (`store.rs`).
//!
//! **Invariant:** a page cached in the storefront cache (home, product,
//! category, collection, search) is the same for every shopper: it names no
//! cart, no customer and carries its CSRF token only as a slot filled per
//! response (`render::CSRF_SLOT`).

mod error;
pub mod model;
mod render;
mod routes;
pub mod store;

pub use error::Error;
pub(crate) use routes::doc;
pub use routes::router;

use axum::extract::FromRef;
use platform::{
    auth::Authenticator,
    web::{Cookies, PageKey},
};

use crate::{
    cart::CartState, catalog::CatalogState, customers::CustomersState, orders::OrdersState, payments::PaymentsState,
};

/// What pages need: the states of the contexts they call, the key that signs
/// CSRF tokens and order links, the cookie flags, and the stores' names and
/// themes (cached, dropped on the store's announcements).
#[derive(Clone, FromRef)]
pub struct WebState {
    pub catalog: CatalogState,
    pub cart: CartState,
    pub customers: CustomersState,
    pub orders: OrdersState,
    pub payments: PaymentsState,
    pub auth: Authenticator,
    #[from_ref(skip)]
    pub key: PageKey,
    #[from_ref(skip)]
    pub cookies: Cookies,
    #[from_ref(skip)]
    pub stores: store::StoreFronts,
}
