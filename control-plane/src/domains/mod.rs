//! Custom domains of stores, verified by a DNS TXT record.
//!
//! A store claims a host and gets a token to publish as the TXT record
//! `_commerce-verification.<host>`. Claims are per store: a pending claim blocks
//! nobody (or any store could squat a brand's domain), and the first store to
//! prove DNS control by verifying owns the host. Only verified hosts resolve on
//! the data plane; verifying and removing are announced so replicas drop cached
//! answers for the host at once.

pub mod dns;
pub mod error;
pub mod model;
mod repo;
mod routes;
pub mod service;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::{auth::KeyRing, config::Settings, db::Db};

use crate::tenants::store::Announcer;
use dns::TxtResolver;

pub(crate) use routes::openapi::doc;
pub use routes::router;

/// What the domain handlers need.
#[derive(Clone, FromRef)]
pub struct DomainsState {
    pub db: Db,
    pub announcer: Announcer,
    pub dns: Arc<dyn TxtResolver>,
    /// The platform's domain, whose hosts no store may claim.
    pub settings: Arc<Settings>,
    /// Verifies the bearer tokens of its routes.
    pub keys: KeyRing,
}
