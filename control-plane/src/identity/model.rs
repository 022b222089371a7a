//! Identity domain types.

use platform::{auth::Role, ids::TenantId};

platform::id_type!(
    /// A person who signs in: store staff or platform admin.
    AccountId
);

platform::id_type!(
    /// The refresh tokens that descend from one sign-in; reusing any of them
    /// revokes them all.
    TokenFamilyId
);

pub use platform::credentials::{Email, Password};

/// A stored account.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    /// argon2id PHC string; `None` for OIDC-only accounts.
    pub password_hash: Option<String>,
    /// Operates the platform.
    pub is_platform_admin: bool,
}

/// A person's membership of a store.
#[derive(Clone, Debug)]
pub struct Member {
    pub account_id: AccountId,
    pub email: String,
    /// Its role in the store.
    pub role: Role,
    /// When it joined the store.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// An access token with its refresh token.
#[derive(Clone, Debug)]
pub struct TokenPair {
    /// Short-lived JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Opaque, single-use.
    pub refresh_token: String,
    /// The store the token is bound to.
    pub tenant_id: Option<TenantId>,
    pub role: Role,
}

platform::id_type!(
    /// A platform API token (`identity::platform_tokens`): its id, never its secret.
    PlatformTokenId
);

/// A platform API token as listed: never its secret.
#[derive(Clone, Debug)]
pub struct PlatformToken {
    pub id: PlatformTokenId,
    pub name: String,
    /// The first characters, to recognise it.
    pub prefix: String,
    /// The platform admin it acts as.
    pub created_by: AccountId,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}
