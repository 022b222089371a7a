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
