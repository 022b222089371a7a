//! Notifications: the delivery queue every outgoing channel shares, and
//! merchant webhooks, its first channel.
//!
//! The outbox relay fans each event out into `notification_delivery` rows
//! ([`fanout`], in the transaction that marks the event published); the
//! worker's delivery job leases due rows, sends them outside any transaction
//! and records the outcome ([`delivery`]). Webhooks are signed per Standard
//! Webhooks ([`signature`]) and sent only to public addresses ([`guard`]).
//! Email and SMS plug in at [`fanout::targets`] and [`delivery::send`], one
//! `match` arm per [`model::Channel`] each.

pub mod delivery;
mod error;
pub mod fanout;
pub mod guard;
pub mod model;
mod repo;
mod routes;
pub mod service;
pub mod signature;

use std::sync::Arc;

pub use error::Error;
pub(crate) use routes::doc;
pub use routes::router;

/// What the webhook and notification-log routes need: the store's database,
/// the staff credentials' verifier, the master keys sealing webhook secrets,
/// and whether webhooks may target private networks.
#[derive(Clone, axum::extract::FromRef)]
pub struct NotificationsState {
    pub db: platform::db::Db,
    pub auth: platform::auth::Authenticator,
    pub master: Arc<platform::crypto::MasterKeys>,
    /// `WEBHOOK_ALLOW_PRIVATE_TARGETS`.
    #[from_ref(skip)]
    pub allow_private_targets: bool,
}
