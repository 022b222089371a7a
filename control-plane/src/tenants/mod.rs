//! Tenants: the registry of stores, onboarding, lifecycle (suspend, resume,
//! delete, purge), plans; and [`store`], how the other contexts change a live
//! store.

mod idempotency;
pub mod model;
mod repo;
mod routes;
pub mod service;
pub mod store;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::{auth::KeyRing, config::Settings, crypto::MasterKeys, db::Db, media::MediaStore};

use crate::{
    identity::{password::Hasher, Tokens},
    settings::ControlSettings,
};
use store::Announcer;

pub(crate) use routes::openapi::doc;
pub use routes::{router, sign_up_router};

/// What the registry's handlers and jobs need.
#[derive(Clone, FromRef)]
pub struct TenantsState {
    pub db: Db,
    /// Purges delete a store's keys here.
    pub redis: redis::aio::ConnectionManager,
    pub announcer: Announcer,
    /// The platform's domain, under which every store has `<slug>.<domain>`.
    pub settings: Arc<Settings>,
    /// Sign-up switch, store URLs, the export directory.
    pub control: Arc<ControlSettings>,
    /// Seals stored idempotent responses (they hold the owner's first tokens).
    pub master: Arc<MasterKeys>,
    /// The owner's first tokens.
    pub tokens: Tokens,
    /// Bounds concurrent argon2 work (the owner's password).
    pub hasher: Hasher,
    /// Verifies the bearer tokens of its routes.
    pub keys: KeyRing,
    /// Purges remove a store's media objects.
    pub media: MediaStore,
    /// Sends the presigned deletes of purged objects (with a time-out).
    pub http: reqwest::Client,
}
