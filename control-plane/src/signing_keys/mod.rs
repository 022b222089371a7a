//! Signing keys: listing and rotating the keys that sign the platform's JWTs.
//!
//! Each audience has keys of its own (`commerce-platform`: staff and platform
//! admins, signed here; `commerce-storefront`: shoppers, signed by the data
//! plane). Rotating an audience creates a key that signs from then on and
//! schedules its previous keys' retirement for when every token they signed
//! has expired (the audience's access-token lifetime plus
//! [`service::RETIREMENT_MARGIN`]); until then they keep verifying, after it
//! they leave the JWKS and verify nothing. Rotation runs from
//! `POST /v1/admin/signing-keys/rotate`, from `control-plane rotate-keys`, and
//! on a schedule ([`service::spawn_schedule`], `SIGNING_KEY_ROTATE_DAYS`).

pub mod model;
mod repo;
mod routes;
pub mod service;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::{
    auth::{KeyRing, Signer},
    crypto::MasterKeys,
    db::Db,
};

pub(crate) use routes::openapi::doc;
pub use routes::router;

use crate::settings::ControlSettings;

/// What rotation needs.
#[derive(Clone, FromRef)]
pub struct SigningKeysState {
    pub db: Db,
    /// Seals new keys' private halves.
    pub master: Arc<MasterKeys>,
    /// This process's staff signer, reloaded at once after a rotation here.
    pub signer: Signer,
    /// Verifies the bearer tokens of its routes; refreshed after a rotation here.
    pub keys: KeyRing,
    /// Token lifetimes (how long a rotated key keeps verifying) and the schedule.
    pub control: Arc<ControlSettings>,
}
