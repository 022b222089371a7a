//! Catalog: products, variants and their stock levels, and the storefront's
//! read paths over them.

mod error;
pub mod model;
pub mod pricing;
mod repo;
mod routes;
pub mod service;

pub use error::Error;
pub use routes::router;
