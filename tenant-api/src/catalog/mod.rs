//! Catalog: products, options, variants, categories, collections and media as
//! merchants manage them, and the storefront's cached read and search paths.

pub mod cache;
mod error;
pub mod import;
pub mod model;
pub mod pricing;
mod repo;
mod routes;
pub mod service;
pub mod state;

pub use error::{Error, Result};
pub(crate) use routes::doc;
pub use routes::{router, WarmReadsLayer};
pub use state::CatalogState;
