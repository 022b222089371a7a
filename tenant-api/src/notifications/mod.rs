//! Notifications: the delivery queue every outgoing channel shares, and
//! merchant webhooks, its first channel.
//!
//! The outbox relay fans each event out into `notification_delivery` rows
//! ([`fanout`], in the transaction that marks the event published); the
//! worker's delivery job leases due rows, sends them outside any transaction
//! and records the outcome ([`delivery`]). Webhooks are signed per Standard
//! Webhooks ([`signature`]) and sent only to public addresses ([`guard`]).
//! Email and SMS ([`messages`]) plug in at [`fanout::targets`] and the
//! deliverer's send, one `match` arm per [`model::Channel`] each.

pub mod delivery;
mod error;
pub mod fanout;
pub mod guard;
pub mod messages;
pub mod model;
pub mod repo;
mod routes;
pub mod service;
pub mod signature;

use std::sync::Arc;

pub use error::Error;
pub use messages::{email, sms, templates, Links, Senders};
pub use routes::router;

/// What the webhook, notification-log and template routes and the senders
/// need: the store's database, the staff credentials' verifier, the master
/// keys sealing webhook secrets, whether webhooks may target private
/// networks, the message senders and the stores they send for.
#[derive(Clone, axum::extract::FromRef)]
pub struct NotificationsState {
    pub db: platform::db::Db,
    pub auth: platform::auth::Authenticator,
    pub master: Arc<platform::crypto::MasterKeys>,
    /// `WEBHOOK_ALLOW_PRIVATE_TARGETS`.
    #[from_ref(skip)]
    pub allow_private_targets: bool,
    /// How email and SMS leave this process.
    pub senders: Senders,
    /// Stores and their notification settings, as messages need them.
    pub stores: messages::service::Stores,
}

/// The context's operations in the OpenAPI document: webhooks and the
/// notification log, then the message templates.
pub(crate) fn doc() -> utoipa::openapi::OpenApi {
    let mut doc = routes::doc();
    doc.merge(messages::doc());
    doc
}
