//! Custom domains of stores, verified by a DNS TXT record.
//!
//! A store claims a host and gets a token to publish as the TXT record
//! `_commerce-verification.<host>`. Claims are per store: a pending claim blocks
//! nobody (or any store could squat a brand's domain), and the first store to
//! prove DNS control by verifying owns the host. Only verified hosts resolve on
//! the data plane; verifying and removing are announced so replicas drop cached
//! answers for the host at once.

pub mod dns;
pub mod model;
mod repo;
mod routes;
pub mod service;

pub(crate) use routes::openapi::doc;
pub use routes::router;
pub use service::DomainsState;
