//! What a platform token says, and for whom it is meant.

use serde::{Deserialize, Serialize};

/// The `aud` of staff and platform-admin tokens.
pub const AUDIENCE: &str = "commerce-platform";

/// The `aud` of shopper tokens. Different from [`AUDIENCE`], so a shopper token
/// fails verification wherever staff tokens are accepted, and the reverse.
pub const STOREFRONT_AUDIENCE: &str = "commerce-storefront";

/// Claims of a platform token, exactly as they travel in the JWT.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer: the control plane's public URL.
    pub iss: String,
    /// Audience: [`AUDIENCE`] or [`STOREFRONT_AUDIENCE`].
    pub aud: String,
    /// The account (staff, admin) or customer the token speaks for.
    pub sub: String,
    /// The store the token is bound to; absent for platform admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// `owner`, `admin`, `staff`, `platform_admin` or (storefront) `customer`:
    /// a [`super::Role`] name.
    pub role: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// A UUIDv7 unique to this token.
    pub jti: String,
}
