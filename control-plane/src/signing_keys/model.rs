//! Signing keys as the control plane lists and rotates them.

use chrono::{DateTime, Utc};
use platform::auth::{AUDIENCE, STOREFRONT_AUDIENCE};

/// Whose tokens a key signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Staff and platform admins ([`AUDIENCE`]); signed by the control plane.
    Platform,
    /// Shoppers ([`STOREFRONT_AUDIENCE`]); signed by the data plane.
    Storefront,
}

impl Audience {
    /// Both audiences, staff first.
    pub const ALL: [Self; 2] = [Self::Platform, Self::Storefront];

    /// The audience named `raw` (`commerce-platform` or `commerce-storefront`).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }

    /// The `aud` of its tokens, as stored in `control.signing_key.audience`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform => AUDIENCE,
            Self::Storefront => STOREFRONT_AUDIENCE,
        }
    }
}

/// Where a key is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// The newest key of its audience: signs and verifies.
    Signing,
    /// Not the newest, never scheduled for retirement: verifies.
    Verifying,
    /// Rotated out: verifies until `retired_at`.
    Retiring,
    /// Past `retired_at`: out of the JWKS, verifies nothing.
    Retired,
}

impl KeyStatus {
    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signing => "signing",
            Self::Verifying => "verifying",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }
}

/// A key's public facts; its private half never leaves `repo`.
#[derive(Clone, Debug)]
pub struct SigningKey {
    pub kid: String,
    pub audience: String,
    pub created_at: DateTime<Utc>,
    /// When it stops verifying (future while it is retiring).
    pub retired_at: Option<DateTime<Utc>>,
    pub status: KeyStatus,
}

/// One audience's rotation.
#[derive(Clone, Debug)]
pub struct Rotation {
    pub audience: Audience,
    /// The new key, signing from now on.
    pub kid: String,
    /// The keys it replaces, verifying until `retire_at`.
    pub retiring: Vec<String>,
    pub retire_at: DateTime<Utc>,
}
